import { test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { publish, toolChannel } from "../../src/core/events.js";
import { createUdpPingServer } from "../../src/udp/ping/server.js";
import { createSocket } from "node:dgram";

test("toolChannel is one held channel per tool and event, named wirekit:<tool>:<event>", () => {
  const a = toolChannel("test-tool", "thing");
  assert.equal(a, toolChannel("test-tool", "thing"));
  assert.notEqual(a, toolChannel("test-tool", "other"));
  assert.equal(a.name, "wirekit:test-tool:thing");
  const seen: unknown[] = [];
  const onMessage = (m: unknown): void => void seen.push(m);
  assert.equal(a.hasSubscribers, false);
  publish("test-tool", "thing", { n: 0 }); // nobody listens: dropped
  subscribe("wirekit:test-tool:thing", onMessage);
  assert.equal(a.hasSubscribers, true);
  publish("test-tool", "thing", { n: 1 });
  unsubscribe("wirekit:test-tool:thing", onMessage);
  publish("test-tool", "thing", { n: 2 });
  assert.deepEqual(seen, [{ n: 1 }]);
});

test("udp-ping serve publishes each datagram on wirekit:udp-ping:datagram", async () => {
  const server = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss: 0 });
  const client = createSocket("udp4");
  const got = new Promise<unknown>((resolve) => {
    const onMessage = (m: unknown): void => {
      unsubscribe("wirekit:udp-ping:datagram", onMessage);
      resolve(m);
    };
    subscribe("wirekit:udp-ping:datagram", onMessage);
  });
  try {
    client.send("ping 1", server.port, "127.0.0.1");
    assert.deepEqual(await got, { dropped: false, bytes: 6 });
  } finally {
    client.close();
    await server.close();
  }
});
