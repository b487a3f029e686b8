/**
 * Fake lab services for the dashboard tests: they produce the agreed snapshot and event
 * shapes of the heartbeat monitor and the caching proxy, driven by the test.
 */
import type { LabEvent, LabService, RunningService } from "../../src/lab/service.js";

export interface FakeHandle {
  snapshot: Record<string, unknown>;
  totals: Record<string, number>;
  emit(e: Omit<LabEvent, "service" | "at"> & { at?: number }): void;
}

/** A LabService whose state the test sets through the returned handle. */
export function fakeService(name: string, description: string, initial: Record<string, unknown>, totals: Record<string, number> = {}): { service: LabService; handle: FakeHandle } {
  const listeners = new Set<(e: LabEvent) => void>();
  const handle: FakeHandle = {
    snapshot: initial,
    totals,
    emit(e) {
      const full: LabEvent = { service: name, at: Date.now(), ...e };
      for (const l of listeners) l(full);
    },
  };
  const service: LabService = {
    name,
    description,
    defaultPort: 1,
    async start({ host }): Promise<RunningService> {
      return {
        address: host,
        port: 65000,
        transport: "udp",
        clientCommand: `wirekit ${name} ${host}`,
        totals: () => ({ ...handle.totals }),
        snapshot: () => handle.snapshot,
        subscribe(l) {
          listeners.add(l);
          return () => listeners.delete(l);
        },
        close: async () => {},
      };
    },
  };
  return { service, handle };
}

/** One heartbeat client row in the agreed shape. */
export function hbClient(id: string, status: "alive" | "suspect" | "dead", received: number, lost: number): Record<string, unknown> {
  return {
    id,
    address: "127.0.0.1:40000",
    status,
    phi: status === "alive" ? 0.4 : status === "suspect" ? 3.2 : 12.5,
    received,
    lost,
    lossPercent: received + lost > 0 ? (100 * lost) / (received + lost) : 0,
    reordered: 1,
    duplicates: 0,
    restarts: 0,
    lastSeen: Date.now(),
    delayMs: { min: 0.1, avg: 0.3, max: 1.2 },
  };
}
