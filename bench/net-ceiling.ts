/**
 * The bare node:net ceiling the HTTP benchmarks put beside their servers: a child script that
 * answers each request head it finds (the end of the head, nothing parsed but the target) with
 * a fixed reply chosen by the target. What node:net can do with no HTTP or file work at all.
 */

/**
 * The script's source, for `node -e SCRIPT PORT`. `replies` maps a request target to the reply's
 * head (without the blank line) and body size; targets not listed get `fallback`'s reply.
 *
 * @example
 * spawn(process.execPath, ["-e", netCeilingScript({ "/1k.bin": { head: "HTTP/1.1 200 OK\r\nContent-Length: 1024", size: 1024 } }, "/1k.bin"), String(port)]);
 */
export function netCeilingScript(replies: Record<string, { head: string; size: number }>, fallback: string): string {
  return `
const net = require("node:net");
const spec = ${JSON.stringify(replies)};
const replies = {};
for (const [p, r] of Object.entries(spec)) replies[p] = Buffer.concat([Buffer.from(r.head + "\\r\\n\\r\\n", "latin1"), Buffer.alloc(r.size, 120)]);
const fallback = replies[${JSON.stringify(fallback)}];
net.createServer((s) => {
  s.setNoDelay(true);
  let buf = "";
  s.on("data", (d) => {
    buf += d.latin1Slice();
    let end;
    while ((end = buf.indexOf("\\r\\n\\r\\n")) !== -1) {
      const sp = buf.indexOf(" ");
      const target = buf.slice(sp + 1, buf.indexOf(" ", sp + 1));
      s.write(replies[target] ?? fallback);
      buf = buf.slice(end + 4);
    }
  });
  s.on("error", () => {});
}).listen(Number(process.argv[1]), "127.0.0.1");`;
}
