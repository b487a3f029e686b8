/**
 * Prometheus metrics for the lab (text exposition format 0.0.4, via `prom-client`): one
 * Registry per lab, and for every running service one metric per key of its `totals()`:
 * `wirekit_<service>_<key>_total` counters, or `wirekit_<service>_<key>` gauges for the keys
 * the service lists in `gauges`. Values are read from the service at scrape time.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { LabServiceState } from "../lab.js";

/**
 * Join parts into a valid Prometheus metric name, in snake_case.
 *
 * @example
 * metricName("wirekit", "udp-ping", "bytesFromCache"); // "wirekit_udp_ping_bytes_from_cache"
 */
export function metricName(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^a-zA-Z0-9]+/g, "_").replace(/^_+|_+$/g, "").toLowerCase())
    .filter((p) => p !== "")
    .join("_");
}

/**
 * Build the registry for a lab's services.
 *
 * @example
 * const registry = createLabMetrics(lab.services);
 * const text = await registry.metrics();
 */
export function createLabMetrics(services: readonly LabServiceState[]): Registry {
  const registry = new Registry();
  const up = new Gauge({ name: "wirekit_lab_service_up", help: "1 when the lab service is running, 0 when it failed to start", labelNames: ["service"], registers: [registry] });
  const seen = new Set<string>();
  for (const s of services) {
    up.set({ service: s.name }, s.status === "running" ? 1 : 0);
    if (s.status !== "running") continue;
    const running = s.running;
    const gauges = new Set(running.gauges ?? []);
    for (const key of Object.keys(running.totals())) {
      const base = metricName("wirekit", s.name, key);
      const read = (): number => {
        const v = running.totals()[key];
        return typeof v === "number" && Number.isFinite(v) ? v : 0;
      };
      if (gauges.has(key)) {
        if (seen.has(base)) continue;
        seen.add(base);
        new Gauge({
          name: base,
          help: `${s.name}: ${key}`,
          registers: [registry],
          collect() {
            this.set(read());
          },
        });
      } else {
        // prom-client appends nothing itself: the _total suffix is ours (OpenMetrics convention).
        const name = `${base}_total`;
        if (seen.has(name)) continue;
        seen.add(name);
        new Counter({
          name,
          help: `${s.name}: ${key} since the lab started`,
          registers: [registry],
          collect() {
            this.reset();
            const v = read();
            if (v > 0) this.inc(v);
          },
        });
      }
    }
  }
  return registry;
}
