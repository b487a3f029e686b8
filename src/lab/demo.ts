/**
 * `wirekit lab --demo`: run each service's client once against its running server (the
 * `demo` hook of `LabService`). Demos run concurrently; one failing never stops the others.
 */
import type { Lab } from "./lab.js";
import { LAB_SERVICES } from "./services.js";
import type { LabService } from "./service.js";

export interface DemoResult {
  name: string;
  /** The client command the demo corresponds to (the service's `clientCommand`). */
  command: string;
  /** "not-started": the service itself failed to start (its port was taken, ...); text says why. */
  outcome: "ok" | "error" | "none" | "not-started";
  /** The demo's line, the error message, the reason the service did not start, or "no demo client yet". */
  text: string;
}

export interface DemoOptions {
  /** Where the demo hooks come from. @default LAB_SERVICES (and the lab's own definitions) */
  services?: readonly LabService[];
  signal?: AbortSignal;
}

/**
 * Run every running service's demo. A service that failed to start is listed too, in the lab's
 * order, with the reason it did not start, so a demo table never silently leaves one out.
 *
 * @example
 * for (const r of await runDemos(lab)) console.log(r.name, r.text);
 */
export async function runDemos(lab: Lab, options: DemoOptions = {}): Promise<DemoResult[]> {
  const defs = options.services ?? lab.definitions ?? LAB_SERVICES;
  const peers = Object.fromEntries(lab.running().map(({ name, running }) => [name, { address: running.address, port: running.port }]));
  return Promise.all(
    lab.services.map(async (s): Promise<DemoResult> => {
      if (s.status === "failed") return { name: s.name, command: "", outcome: "not-started", text: s.error.message };
      const { name, running } = s;
      const def = defs.find((d) => d.name === name);
      const command = running.clientCommand;
      if (!def?.demo) return { name, command, outcome: "none", text: "no demo client yet" };
      try {
        const text = await def.demo({ address: running.address, port: running.port, signal: options.signal, peers });
        return { name, command, outcome: "ok", text };
      } catch (err) {
        return { name, command, outcome: "error", text: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}
