/**
 * What every service of `wirekit lab` looks like: something that starts on a host and port,
 * tells which client command to point at it, counts what it did, and closes cleanly.
 */

export interface RunningService {
  /** Bound address and port (the port may differ from the default when 0 was asked). */
  address: string;
  port: number;
  transport: "udp" | "tcp";
  /** The client command a person would try against it. */
  clientCommand: string;
  /** Counters for the totals line and the dashboard. */
  totals(): Record<string, number>;
  close(): Promise<void>;
}

export interface LabService {
  /** Short name, also the `--no-<name>` flag. */
  name: string;
  description: string;
  defaultPort: number;
  start(options: { host: string; port: number }): Promise<RunningService>;
}
