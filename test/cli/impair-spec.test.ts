import { test } from "node:test";
import assert from "node:assert/strict";
import { isWirekitError } from "../../src/core/errors.js";
import { parseForm } from "../../src/cli/spec.js";
import { impairmentFromValues, parseDelay, parseImpairSpec } from "../../src/cli/specs/impair.js";
import { serveForm as pingServe } from "../../src/cli/specs/udp-ping.js";
import { serveForm as heartbeatServe } from "../../src/cli/specs/heartbeat.js";
import { serveForm as echoServe } from "../../src/cli/specs/udp-echo.js";

test("the three serve forms share one set of impairment options; udp-ping alone defaults to 30% loss", () => {
  const keys = ["loss", "loss-burst", "delay", "jitter", "reorder", "duplicate", "corrupt", "rate", "seed"];
  for (const form of [pingServe, heartbeatServe, echoServe]) for (const k of keys) assert.ok(k in form.options, `${form.name ?? ""} --${k}`);
  assert.equal(impairmentFromValues(parseForm(pingServe, []).values).loss, 0.3);
  assert.equal(impairmentFromValues(parseForm(heartbeatServe, []).values).loss, 0);
  assert.equal(impairmentFromValues(parseForm(echoServe, []).values).loss, 0);
});

test("flags become the core config: bare delays in ms, sizes for --rate", () => {
  const argv = ["--loss", "0.25", "--loss-burst", "3", "--delay", "20", "--jitter", "0.01s", "--reorder", "0.1", "--duplicate", "0.2", "--corrupt", "0.05", "--rate", "64k"];
  assert.deepEqual(impairmentFromValues(parseForm(heartbeatServe, argv).values), {
    loss: 0.25, lossBurst: 3, delayMs: 20, jitterMs: 10, reorder: 0.1, duplicate: 0.2, corrupt: 0.05, rateBytesPerSec: 65536,
  });
  assert.equal(parseDelay("1.5ms"), 1.5);
  assert.equal(parseDelay("300"), 300);
});

test("parseImpairSpec reads SERVICE:key=value,... with the flags' converters", () => {
  assert.deepEqual(parseImpairSpec("udp-ping:loss=0.3,jitter=20ms"), { service: "udp-ping", config: { loss: 0.3, jitterMs: 20 } });
  assert.deepEqual(parseImpairSpec("heartbeat:reorder=0.1, duplicate=0.05 ,seed=7,rate=1k"), {
    service: "heartbeat", config: { reorder: 0.1, duplicate: 0.05, rateBytesPerSec: 1024 }, seed: 7,
  });
  for (const bad of ["udp-ping", "udp-ping:", ":loss=1", "udp-ping:loss", "udp-ping:loss=", "udp-ping:loss=2", "udp-ping:speed=1", "udp-ping:seed=-1", "udp-ping:rate=fast"]) {
    assert.throws(() => parseImpairSpec(bad), (e) => isWirekitError(e, "ERR_USAGE"), bad);
  }
});
