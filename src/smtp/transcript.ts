/**
 * The transcript of one SMTP session: what the client sent (secrets already masked), every reply,
 * the TLS handshakes, and notes. Feeds the `C:`/`S:` text, `--json` and the sequence diagram.
 */

export type TranscriptEntry =
  /** The TCP (or implicit TLS) connection was opened. */
  | { kind: "connect"; at: number; host: string; address: string; port: number; tls: boolean }
  /** A command line as sent, with AUTH secrets replaced by asterisks. */
  | { kind: "client"; at: number; text: string }
  /** A complete reply: its code and the raw lines. */
  | { kind: "server"; at: number; code: number; lines: string[] }
  /** A TLS session was established (implicit TLS or after STARTTLS). */
  | { kind: "tls"; at: number; protocol: string; cipher: string; verified: boolean; peer?: string }
  /** The message itself was sent after DATA: its size, and its size on the wire after dot-stuffing. */
  | { kind: "message"; at: number; octets: number; wireOctets: number }
  /** Something worth knowing that is neither sent nor received (e.g. discarded plaintext). */
  | { kind: "note"; at: number; text: string }
  /** The session broke (timeout, reset, TLS failure). */
  | { kind: "error"; at: number; text: string };

/**
 * The lines the lab asks for: `C: ...` for the client, `S: ...` for every reply line, and
 * `*` lines for events on the connection.
 *
 * @example
 * transcriptLines({ kind: "server", at: 0, code: 250, lines: ["250-a", "250 b"] }) // ["S: 250-a", "S: 250 b"]
 */
export function transcriptLines(e: TranscriptEntry): string[] {
  switch (e.kind) {
    case "connect":
      return [`* connected to ${e.host === e.address ? e.host : `${e.host} (${e.address})`} port ${e.port}${e.tls ? " (TLS from the first byte)" : ""}`];
    case "client":
      return [`C: ${e.text}`];
    case "server":
      return e.lines.map((l) => `S: ${l}`);
    case "tls":
      return [`* TLS established: ${e.protocol} ${e.cipher}${e.peer !== undefined ? `, certificate for ${e.peer}` : ""}${e.verified ? ", verified" : ", NOT verified"}`];
    case "message":
      return [`C: <message: ${e.octets} octets, ${e.wireOctets} on the wire with dot-stuffing and the end line>`];
    case "note":
      return [`* ${e.text}`];
    case "error":
      return [`* error: ${e.text}`];
  }
}
