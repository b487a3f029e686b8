/**
 * `node scrape.js URL`: a Prometheus stand-in in a process of its own (so its work is not counted
 * as the monitor's), fetching URL once a second until SIGTERM, then printing one JSON line: the
 * number of scrapes, the bytes of the last one and the longest and average scrape time.
 */
import { get } from "node:http";

const url = process.argv[2] ?? "";
const times: number[] = [];
let bytes = 0;
let failed = 0;
let stopping = false;
let wake: (() => void) | undefined;

function scrape(): Promise<void> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    get(url, (res) => {
      let n = 0;
      res.on("data", (b: Buffer) => (n += b.length));
      res.on("end", () => {
        if (res.statusCode === 200) {
          times.push(performance.now() - t0);
          bytes = n;
        } else failed++;
        resolve();
      });
    }).on("error", () => {
      failed++;
      resolve();
    });
  });
}

process.on("SIGTERM", () => {
  stopping = true;
  wake?.();
});

for (;;) {
  const start = performance.now();
  await scrape();
  if (stopping) break;
  await new Promise<void>((r) => {
    const t = setTimeout(r, Math.max(0, 1000 - (performance.now() - start)));
    wake = () => {
      clearTimeout(t);
      r();
    };
  });
  if (stopping) break;
}
const avg = times.length === 0 ? 0 : times.reduce((a, b) => a + b, 0) / times.length;
console.log(JSON.stringify({ scrapes: times.length, failed, bytes, maxMs: Math.max(0, ...times), avgMs: avg }));
