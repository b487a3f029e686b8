/** The engine over node:tls: keep-alive requests, and `secure` on the request. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { FakeClock } from "../../../src/core/clock.js";
import { createH1Server } from "../../../src/http/h1/server.js";
import { splitResponses } from "./raw.js";

test("HTTPS: two keep-alive requests on one TLS connection, request.secure set", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-h1tls-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"], { stdio: "ignore" });
    const srv = createH1Server({
      handler: (req) => ({ status: 200, headers: [], body: `${req.secure} ${req.target}` }),
      clock: new FakeClock(),
      tls: { cert: readFileSync(cert), key: readFileSync(key) },
    });
    const port = await srv.listen(0);
    try {
      const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
      let data = Buffer.alloc(0);
      const got = new Promise<void>((resolve) =>
        s.on("data", (d: Buffer) => {
          data = Buffer.concat([data, d]);
          if (splitResponses(data).length === 2) resolve();
        }),
      );
      s.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
      await got;
      assert.deepEqual(
        splitResponses(data).map((r) => r.body.toString()),
        ["true /1", "true /2"],
      );
      s.destroy();
    } finally {
      await srv.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
