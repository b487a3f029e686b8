/**
 * What every service of `wirekit lab` looks like: something that starts on a host and port,
 * tells which client command to point at it, counts what it did, shows a live view for the
 * dashboard, and closes cleanly.
 */

/** One thing that happened in a service, for the dashboard's feed. */
export interface LabEvent {
  /** Service name ("heartbeat"). */
  service: string;
  /** Event kind ("lost", "stopped", "request", ...). */
  kind: string;
  /** Wall-clock ms. */
  at: number;
  /** One human-readable line. */
  text: string;
  /** Structured fields (JSON-serializable). */
  data?: Record<string, unknown>;
}

export interface RunningService {
  /** Bound address and port (the port may differ from the default when 0 was asked). */
  address: string;
  port: number;
  transport: "udp" | "tcp";
  /** The client command a person would try against it. */
  clientCommand: string;
  /** Counters for the totals line, the dashboard and /metrics. */
  totals(): Record<string, number>;
  /**
   * A JSON-serializable view for the dashboard (counters plus recent items, a client table...).
   * Each service documents its shape beside its entry in services.ts.
   */
  snapshot?(): Record<string, unknown>;
  /** Live events; returns an unsubscribe function. */
  subscribe?(listener: (e: LabEvent) => void): () => void;
  close(): Promise<void>;
}

export interface LabService {
  /** Short name, also the `--no-<name>` flag. */
  name: string;
  description: string;
  defaultPort: number;
  start(options: { host: string; port: number }): Promise<RunningService>;
}
