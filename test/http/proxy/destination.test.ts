/** The destination rule (Squid's to_localhost), pure: who may reach the proxy host's own services. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { canonicalAddress, decideDestination } from "../../../src/http/proxy/destination.js";

const local = ["127.0.0.1", "::1", "10.99.0.1", "10.99.1.1", "fe80::1"];

describe("decideDestination", () => {
  for (const destination of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "0.0.0.0", "0.1.2.3", "::", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:0.0.0.0", "10.99.0.1", "10.99.1.1", "::ffff:10.99.1.1", "fe80::1%eth0"]) {
    it(`denies a remote client reaching ${destination} on the proxy host`, () => {
      const d = decideDestination({ client: "10.99.0.2", destination, localAddresses: local, allowToLoopback: false });
      assert.equal(d.allow, false);
    });
  }

  for (const destination of ["10.99.0.7", "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "128.0.0.1"]) {
    it(`allows a remote client reaching ${destination}, which is not the proxy host`, () => {
      assert.deepEqual(decideDestination({ client: "10.99.0.2", destination, localAddresses: local, allowToLoopback: false }), { allow: true });
    });
  }

  for (const client of ["127.0.0.1", "127.0.0.9", "::1", "::ffff:127.0.0.1"]) {
    it(`allows a client on loopback (${client}) to reach loopback`, () => {
      assert.deepEqual(decideDestination({ client, destination: "127.0.0.1", localAddresses: local, allowToLoopback: false }), { allow: true });
    });
  }

  it("allows everything with allowToLoopback", () => {
    assert.deepEqual(decideDestination({ client: "::ffff:10.99.0.2", destination: "127.0.0.1", localAddresses: local, allowToLoopback: true }), { allow: true });
  });

  it("denies a destination that is not an address", () => {
    assert.equal(decideDestination({ client: "10.99.0.2", destination: "localhost", localAddresses: local, allowToLoopback: false }).allow, false);
  });

  it("gives one spelling per address", () => {
    assert.equal(canonicalAddress("::FFFF:7F00:0001"), "127.0.0.1");
    assert.equal(canonicalAddress("0::1"), "::1");
    assert.equal(canonicalAddress("2001:DB8::1"), "2001:db8:0:0:0:0:0:1");
    assert.equal(canonicalAddress("nope"), undefined);
  });
});
