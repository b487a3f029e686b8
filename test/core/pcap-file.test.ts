/**
 * The `--pcap` file's bound (`maxBytes`): on a fake clock, packets are written until the next
 * one would pass the bound; that one is kept cut to its headers with the comment saying the
 * capture stopped, and nothing after it is written. Read back with the pcapng splitter.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../../src/core/clock.js";
import { PcapFile } from "../../src/core/pcap-file.js";
import { splitBlocks } from "../../src/core/pcapng.js";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "wirekit-pcap-file-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The enhanced packet blocks of a file: captured and original length, comment. */
function packetsOf(path: string): Array<{ captured: number; original: number; comment: string }> {
  return splitBlocks(readFileSync(path))
    .filter((b) => b.type === 6)
    .map((b) => {
      const captured = b.body.readUInt32LE(12);
      const optAt = 20 + ((captured + 3) & ~3);
      const comment = optAt + 4 <= b.body.length && b.body.readUInt16LE(optAt) === 1 ? b.body.subarray(optAt + 4, optAt + 4 + b.body.readUInt16LE(optAt + 2)).toString("utf8") : "";
      return { captured, original: b.body.readUInt32LE(16), comment };
    });
}

describe("PcapFile maxBytes", () => {
  it("stops at the bound: the last packet cut to 60 bytes with the comment, nothing after it, the file under the bound", () => {
    const path = join(dir, "bounded.pcapng");
    const clock = new FakeClock();
    const f = new PcapFile(path, { clock, name: "test", maxBytes: 4096 });
    const packet = Buffer.alloc(1000, 7);
    for (let i = 0; i < 10; i++) {
      f.add(packet, i === 0 ? "first" : undefined);
      clock.advance(1);
    }
    assert.equal(f.full, false, "nothing is judged before the queue is written");
    f.flush();
    assert.equal(f.full, true);
    f.add(packet, "after the bound");
    f.close();
    const ps = packetsOf(path);
    const last = ps.at(-1);
    assert.ok(ps.length >= 2 && ps.length < 10, `${ps.length} packets`);
    assert.deepEqual(ps.slice(0, -1).map((p) => p.captured), ps.slice(0, -1).map(() => 1000));
    assert.equal(ps[0]?.comment, "first");
    assert.equal(last?.captured, 60);
    assert.equal(last?.original, 1000);
    assert.match(last?.comment ?? "", /^capture stopped: the file reached its bound of 4096 bytes/);
    assert.ok(statSync(path).size <= 4096, `${statSync(path).size} bytes`);
    assert.equal(f.written, ps.length);
  });

  it("without a bound every packet is written", () => {
    const path = join(dir, "unbounded.pcapng");
    const f = new PcapFile(path, { clock: new FakeClock(), name: "test" });
    for (let i = 0; i < 50; i++) f.add(Buffer.alloc(1000));
    f.close();
    assert.equal(packetsOf(path).length, 50);
    assert.equal(f.full, false);
  });
});
