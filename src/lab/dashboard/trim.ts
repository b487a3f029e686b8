/**
 * Keep what a page receives small when a service has a lot to show. Today that is the
 * heartbeat monitor, whose client table may hold thousands of rows: the page gets at most
 * `maxClients` of them, problems first (dead, then suspect, then the rest by last seen), plus
 * the counts of every status so the totals stay exact. Pure.
 */

/** Status counts over every heartbeat client, sent beside a trimmed table. */
export interface ClientCounts {
  total: number;
  alive: number;
  suspect: number;
  dead: number;
}

const RANK: Readonly<Record<string, number>> = { dead: 0, suspect: 1, alive: 2 };

function field(row: unknown, key: string): unknown {
  return typeof row === "object" && row !== null ? (row as Record<string, unknown>)[key] : undefined;
}

/**
 * Trim a service snapshot for the page. Snapshots of other services pass through unchanged.
 *
 * @example
 * trimSnapshot("heartbeat", { clients: rows }, 500); // { clients: ≤500 rows, clientCounts: {...} }
 */
export function trimSnapshot(service: string, snapshot: Record<string, unknown> | null, maxClients = 500): Record<string, unknown> | null {
  if (service !== "heartbeat" || snapshot === null || !Array.isArray(snapshot.clients)) return snapshot;
  const clients: unknown[] = snapshot.clients;
  const counts: ClientCounts = { total: clients.length, alive: 0, suspect: 0, dead: 0 };
  for (const c of clients) {
    const s = field(c, "status");
    if (s === "alive" || s === "suspect" || s === "dead") counts[s]++;
  }
  if (clients.length <= maxClients) return { ...snapshot, clientCounts: counts };
  const rank = (c: unknown): number => RANK[String(field(c, "status"))] ?? 3;
  const seen = (c: unknown): number => {
    const v = field(c, "lastSeen");
    return typeof v === "number" ? v : 0;
  };
  const shown = [...clients].sort((a, b) => rank(a) - rank(b) || seen(b) - seen(a)).slice(0, maxClients);
  return { ...snapshot, clients: shown, clientCounts: counts };
}
