/** Small entry files written after the responses go out (EntryFileWriter): in batches, on the worker thread (or the thread pool), renamed only when still wanted. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryFileWriter, writeEntryFile } from "../../../src/http/proxy/cache/entry-files.js";
import { FakeClock } from "../../../src/core/clock.js";

describe("entry file writer", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirekit-entry-writer-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  for (const offThread of [true, false]) {
    const how = offThread ? "on the worker thread" : "through the thread pool";
    const at = (name: string): [string, string] => [join(dir, `${name}-${offThread}.tmp`), join(dir, `${name}-${offThread}.wkc`)];

    it(`writes the parts of each queued file ${how}, after the current turn, and renames them into place`, async () => {
      const w = new EntryFileWriter({ offThread, batchMs: 0 });
      assert.equal(w.offThread, offThread);
      const a = w.write(...at("a"), () => [Buffer.from("head|"), Buffer.from("body|"), Buffer.from("foot")], () => true);
      const b = w.write(...at("b"), () => [Buffer.from("second")], () => true);
      // Nothing is written in the turn that queued them (the response goes out first).
      assert.equal(existsSync(at("a")[0]) || existsSync(at("a")[1]) || existsSync(at("b")[1]), false);
      assert.deepEqual(await Promise.all([a, b]), [true, true]);
      assert.equal(await readFile(at("a")[1], "utf8"), "head|body|foot");
      assert.equal(await readFile(at("b")[1], "utf8"), "second");
      assert.equal(existsSync(at("a")[0]), false);
    });

    it(`writes nothing for an entry no longer wanted when its turn comes (${how})`, async () => {
      let wanted = true;
      const w = new EntryFileWriter({ offThread, batchMs: 0 });
      const p = w.write(...at("c"), () => [Buffer.from("x")], () => wanted);
      wanted = false;
      assert.equal(await p, false);
      assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith(`c-${offThread}`)), []);
    });

    it(`fails (and leaves no temporary file) when the file cannot be created, and the next files are still written (${how})`, async () => {
      const w = new EntryFileWriter({ offThread, batchMs: 0 });
      const bad = w.write(join(dir, "missing", "d.tmp"), join(dir, "missing", "d.wkc"), () => [Buffer.from("x")], () => true);
      const good = w.write(...at("e"), () => [Buffer.from("after")], () => true);
      await assert.rejects(bad);
      assert.equal(await good, true);
      assert.equal(await readFile(at("e")[1], "utf8"), "after");
    });
  }

  it("keeps the bytes it was given: the caller's buffers are copied, not moved to the worker", async () => {
    const w = new EntryFileWriter({ batchMs: 0 });
    const body = Buffer.from("a body still served from memory");
    assert.equal(await w.write(join(dir, "f.tmp"), join(dir, "f.wkc"), () => [body], () => true), true);
    assert.equal(body.toString(), "a body still served from memory");
    assert.equal(await readFile(join(dir, "f.wkc"), "utf8"), "a body still served from memory");
  });

  it("sends a batch batchMs after its first file, with the files queued meanwhile, and a full batch at once", async () => {
    const clock = new FakeClock();
    const w = new EntryFileWriter({ clock, batchMs: 10 });
    const a = w.write(join(dir, "h1.tmp"), join(dir, "h1.wkc"), () => [Buffer.from("one")], () => true);
    clock.advance(9);
    const b = w.write(join(dir, "h2.tmp"), join(dir, "h2.wkc"), () => [Buffer.from("two")], () => true);
    await new Promise((r) => setImmediate(r));
    assert.equal(existsSync(join(dir, "h1.tmp")) || existsSync(join(dir, "h1.wkc")), false, "nothing is sent before the batch's time");
    clock.advance(1);
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    assert.equal(await readFile(join(dir, "h2.wkc"), "utf8"), "two");
    // 64 files waiting go without the clock moving.
    const many = Array.from({ length: 64 }, (_, i) => w.write(join(dir, `m${i}.tmp`), join(dir, `m${i}.wkc`), () => [Buffer.from(String(i))], () => true));
    assert.ok((await Promise.all(many)).every((x) => x));
    assert.equal(await readFile(join(dir, "m63.wkc"), "utf8"), "63");
  });

  it("fails the thread pool chain the same way when the file cannot be created", async () => {
    await assert.rejects(writeEntryFile(join(dir, "missing", "g.tmp"), join(dir, "missing", "g.wkc"), [Buffer.from("x")], () => true));
  });
});
