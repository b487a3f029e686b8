/** CONNECT tunnels: a TLS server with a self-signed certificate, verified by the client through the proxy. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request, type IncomingMessage } from "node:http";
import type { Socket, AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";

function connectVia(proxyPort: number, authority: string): Promise<{ res: IncomingMessage; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: proxyPort, method: "CONNECT", path: authority, agent: false });
    req.on("connect", (res, socket) => resolve({ res, socket }));
    req.on("response", (res) => resolve({ res, socket: res.socket as Socket }));
    req.on("error", reject);
    req.end();
  });
}

describe("proxy CONNECT tunnels", () => {
  let dir: string;
  let cert: Buffer;
  let tlsServer: TlsServer;
  let tlsPort: number;
  let proxy: ProxyServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ], { stdio: "ignore" });
    cert = await readFile(join(dir, "cert.pem"));
    const key = await readFile(join(dir, "key.pem"));
    tlsServer = createTlsServer({ key, cert }, (s) => {
      s.on("data", (d: Buffer) => s.write(`echo:${d.toString()}`));
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", () => r()));
    tlsPort = (tlsServer.address() as AddressInfo).port;
    proxy = await createProxyServer({ port: 0, cache: false, connectPorts: [tlsPort] });
  });
  after(async () => {
    await proxy.close();
    await new Promise<void>((r) => tlsServer.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it("tunnels TLS to an allowed port and the client verifies the server's certificate through it", async () => {
    const { res, socket } = await connectVia(proxy.port, `localhost:${tlsPort}`);
    assert.equal(res.statusCode, 200);
    const tls = tlsConnect({ socket, ca: cert, servername: "localhost" });
    await new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", () => resolve());
      tls.once("error", reject);
    });
    assert.equal(tls.authorized, true);
    const reply = await new Promise<string>((resolve) => {
      tls.once("data", (d: Buffer) => resolve(d.toString()));
      tls.write("hello through the tunnel");
    });
    assert.equal(reply, "echo:hello through the tunnel");
    tls.end();
  });

  it("lets curl fetch an https URL through the tunnel, verifying the certificate", async () => {
    const key = await readFile(join(dir, "key.pem"));
    const https: HttpsServer = createHttpsServer({ key, cert }, (_req, res) => res.end("secret page\n"));
    await new Promise<void>((r) => https.listen(0, "127.0.0.1", () => r()));
    const port = (https.address() as AddressInfo).port;
    const p2 = await createProxyServer({ port: 0, cache: false, connectPorts: [port] });
    try {
      const { stdout } = await promisify(execFile)("curl", ["-sS", "--max-time", "30", "--cacert", join(dir, "cert.pem"), "-x", `http://127.0.0.1:${p2.port}`, `https://localhost:${port}/`]);
      assert.equal(stdout, "secret page\n");
    } finally {
      await p2.close();
      await new Promise<void>((r) => https.close(() => r()));
    }
  });

  it("refuses CONNECT to a port outside --connect-ports with 403", async () => {
    const { res, socket } = await connectVia(proxy.port, "127.0.0.1:25");
    assert.equal(res.statusCode, 403);
    socket.destroy();
  });

  it("ends open tunnels when the proxy closes", async () => {
    const p2 = await createProxyServer({ port: 0, cache: false, connectPorts: [tlsPort] });
    const { res, socket } = await connectVia(p2.port, `127.0.0.1:${tlsPort}`);
    assert.equal(res.statusCode, 200);
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    await p2.close();
    await closed;
  });

  it("answers 502 when the tunnel's target refuses the connection", async () => {
    const p2 = await createProxyServer({ port: 0, cache: false, connectPorts: [1] });
    try {
      const { res, socket } = await connectVia(p2.port, "127.0.0.1:1");
      assert.equal(res.statusCode, 502);
      socket.destroy();
    } finally {
      await p2.close();
    }
  });
});
