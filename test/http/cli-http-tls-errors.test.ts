/**
 * A failed TLS handshake in `wirekit http get` is one line with the way out: -k for a
 * self-signed certificate, --ca FILE for a private CA, plain http:// for a port without TLS.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliCapture } from "../helpers/cli.js";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

let site: Site;
let selfSigned: StaticServer;
let privateCa: StaticServer;
let plain: StaticServer;
let caFile: string;

const ssl = (args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

before(async () => {
  site = makeSite();
  const f = (n: string): string => join(site.base, n);
  ssl(["req", "-x509", ...EC, "-keyout", f("ss.key"), "-out", f("ss.pem"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"]);
  ssl(["req", "-x509", ...EC, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "1", "-subj", "/CN=wirekit test CA"]);
  ssl(["req", ...EC, "-keyout", f("leaf.key"), "-out", f("leaf.csr"), "-subj", "/CN=127.0.0.1"]);
  writeFileSync(f("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  ssl(["x509", "-req", "-in", f("leaf.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("leaf.pem"), "-days", "1", "-extfile", f("leaf.ext")]);
  caFile = f("ca.pem");
  selfSigned = await createStaticServer({ root: site.root, port: 0, tls: { cert: readFileSync(f("ss.pem")), key: readFileSync(f("ss.key")) } });
  privateCa = await createStaticServer({ root: site.root, port: 0, tls: { cert: readFileSync(f("leaf.pem")), key: readFileSync(f("leaf.key")) } });
  plain = await createStaticServer({ root: site.root, port: 0 });
});

after(async () => {
  await Promise.all([selfSigned.close(), privateCa.close(), plain.close()]);
  site.cleanup();
});

test("a self-signed certificate is one line that points to -k, and -k gets the page", async () => {
  const r = await runCliCapture(["http", "get", `${selfSigned.url}hello.txt`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "wirekit: TLS with 127.0.0.1: self-signed certificate (use -k to accept it anyway)\n");
  const k = await runCliCapture(["http", "get", `${selfSigned.url}hello.txt`, "-k", "-s"]);
  assert.equal(k.stdout, "hello, world\n");
});

test("a certificate from a private CA is one line that points to --ca FILE, and --ca FILE verifies it", async () => {
  const r = await runCliCapture(["http", "get", `${privateCa.url}hello.txt`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "wirekit: TLS with 127.0.0.1: certificate signed by an unknown CA (use --ca FILE to trust that CA, or -k to skip the check)\n");
  const ok = await runCliCapture(["http", "get", `${privateCa.url}hello.txt`, "--ca", caFile, "-sS"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "hello, world\n");
  const missing = await runCliCapture(["http", "get", `${privateCa.url}hello.txt`, "--ca", join(site.base, "nope.pem")]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.split("\n").length, 2);
});

test("https:// against a plaintext port is one line: the server does not speak TLS on this port", async () => {
  const r = await runCliCapture(["http", "get", `https://127.0.0.1:${plain.port}/hello.txt`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "wirekit: TLS with 127.0.0.1: the server does not speak TLS on this port (try http://)\n");
});
