import { test } from "node:test";
import assert from "node:assert/strict";
import { renderDashboardLine, renderDemoTable, renderLabImpairments, renderLabServices, renderLabTotals } from "../../src/render/lab.js";
import { renderDownloadProgress } from "../../src/render/http-get.js";
import type { LabServiceState } from "../../src/lab/lab.js";
import type { RunningService } from "../../src/lab/service.js";

const running = (name: string, port: number, extra: Partial<RunningService> = {}): LabServiceState => ({
  name, description: name, status: "running",
  running: { address: "::1", port, transport: "udp", clientCommand: `wirekit ${name} ::1 ${port}`, ...extra } as RunningService,
});
const services: LabServiceState[] = [
  running("udp-ping", 12000, { impairment: "impair: loss 30%, seed 7" }),
  { name: "http", description: "web server", status: "failed", error: new Error("port 8080 in use") },
  running("udp-echo", 12002, { impairment: "impair: delay 20ms" }),
];

test("lab: the services table, the dashboard's row or why it failed, and the impairments asked for", () => {
  assert.equal(
    renderLabServices(services, { address: "127.0.0.1", port: 7070, url: "http://127.0.0.1:7070/" }),
    "service    listening on         try\n" +
      "udp-ping   udp [::1]:12000      wirekit udp-ping ::1 12000\n" +
      "http       FAILED               port 8080 in use\n" +
      "udp-echo   udp [::1]:12002      wirekit udp-echo ::1 12002\n" +
      "dashboard  http 127.0.0.1:7070  open http://127.0.0.1:7070/ in a browser\n",
  );
  assert.match(renderLabServices(services, { error: "bind failed" }), /^dashboard {2}FAILED +bind failed$/m);
  assert.doesNotMatch(renderLabServices(services, undefined), /dashboard/);
  assert.equal(renderLabImpairments(services, new Set(["udp-echo", "http"])), "udp-echo: impair: delay 20ms\n");
  assert.equal(renderDashboardLine("http://127.0.0.1:7070/"), "\nDashboard: http://127.0.0.1:7070/  (Prometheus metrics: http://127.0.0.1:7070/metrics)\n");
});

test("lab: the --demo table and the totals at exit, in the lab's order", () => {
  assert.equal(
    renderDemoTable([
      { name: "udp-ping", command: "", outcome: "ok", text: "5 packets transmitted" },
      { name: "http", command: "", outcome: "not-started", text: "port 8080 in use" },
      { name: "mail", command: "", outcome: "error", text: "refused" },
    ]),
    "service   result\nudp-ping  5 packets transmitted\nhttp      NOT STARTED: port 8080 in use\nmail      FAILED: refused\n",
  );
  assert.equal(renderLabTotals(services, { "udp-echo": { received: 1, replied: 1 }, "udp-ping": { received: 2 } }), "udp-ping: 2 received\nudp-echo: 1 received, 1 replied\n");
});

test("http get -o: the progress bar with a known total (percent, ETA) and without", () => {
  assert.equal(renderDownloadProgress(524288, 1048576, 2), "512.0 KiB / 1.0 MiB 50%  256.0 KiB/s  ETA 2s   ");
  assert.equal(renderDownloadProgress(2048, NaN, 1), "2.0 KiB  2.0 KiB/s   ");
});
