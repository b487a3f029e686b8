/**
 * `wirekit lab`: start every wirekit server on one host. A service whose port is taken
 * reports the error and the others still start.
 */
import { usageError } from "../core/errors.js";
import { TypedEmitter } from "../core/events.js";
import { LAB_SERVICES } from "./services.js";
import type { LabImpairment, LabService, RunningService } from "./service.js";

export interface LabOptions {
  /** Address every service binds. @default "127.0.0.1" */
  host?: string;
  /** Services to leave out, by name. */
  exclude?: readonly string[];
  /** Port overrides by service name (0 = pick one; tests use that). */
  ports?: Readonly<Record<string, number>>;
  /** Port for every service not named in `ports` (0 = let the system pick). @default each service's own default port */
  defaultPort?: number;
  /** The services to choose from. @default LAB_SERVICES */
  services?: readonly LabService[];
  /** Impairments by service name; each must name a service that takes them (`impairable`). */
  impair?: Readonly<Record<string, LabImpairment>>;
}

export type LabServiceState =
  | { name: string; description: string; status: "running"; running: RunningService }
  | { name: string; description: string; status: "failed"; error: Error };

/** What the lab itself reports (its services report through their own servers): it closed, with each service's last totals. */
export type LabRunEvent = { kind: "closed"; totals: Record<string, Record<string, number>> };

/** A running lab. Listen to `event`. */
export class Lab extends TypedEmitter<{ event: [LabRunEvent] }> {
  readonly host: string;
  readonly services: readonly LabServiceState[];
  /** The service definitions the lab was started from (for their `demo` hooks). */
  readonly definitions: readonly LabService[] | undefined;

  constructor(host: string, services: LabServiceState[], definitions?: readonly LabService[]) {
    super();
    this.host = host;
    this.services = services;
    this.definitions = definitions;
  }

  /** Running services only. */
  running(): Array<{ name: string; running: RunningService }> {
    const out: Array<{ name: string; running: RunningService }> = [];
    for (const s of this.services) if (s.status === "running") out.push({ name: s.name, running: s.running });
    return out;
  }

  /** Stop every service; resolves to each one's totals. */
  async close(): Promise<Record<string, Record<string, number>>> {
    const totals: Record<string, Record<string, number>> = {};
    await Promise.all(
      this.running().map(async ({ name, running }) => {
        totals[name] = running.totals();
        await running.close();
      }),
    );
    this.emit("event", { kind: "closed", totals });
    return totals;
  }
}

/**
 * Start the lab.
 *
 * @example
 * const lab = await startLab({ host: "127.0.0.1" });
 * for (const s of lab.running()) console.log(s.name, s.running.port);
 * await lab.close();
 */
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const host = options.host ?? "127.0.0.1";
  const exclude = new Set(options.exclude ?? []);
  const all = options.services ?? LAB_SERVICES;
  for (const [name, impair] of Object.entries(options.impair ?? {})) {
    const service = all.find((s) => s.name === name);
    if (service?.impairable !== true) {
      throw usageError(`--impair: unknown service '${name}' (impairments apply to ${all.filter((s) => s.impairable === true).map((s) => s.name).join(", ")})`);
    }
    service.checkImpairment?.(impair);
  }
  const chosen = all.filter((s) => !exclude.has(s.name));
  // One after another, in display order: each start is quick, and a later service may name an
  // earlier one in its client command (the proxy names the web server's port).
  const states: LabServiceState[] = [];
  const peers: Record<string, { address: string; port: number }> = {};
  for (const s of chosen) {
    try {
      const impair = options.impair?.[s.name];
      const running = await s.start({ host, port: options.ports?.[s.name] ?? options.defaultPort ?? s.defaultPort, peers: { ...peers }, ...(impair !== undefined ? { impair } : {}) });
      peers[s.name] = { address: running.address, port: running.port };
      states.push({ name: s.name, description: s.description, status: "running", running });
    } catch (err) {
      states.push({ name: s.name, description: s.description, status: "failed", error: err instanceof Error ? err : new Error(String(err)) });
    }
  }
  return new Lab(host, states, chosen);
}
