/** Small entry files written after the responses go out (EntryFileWriter): in one batch, renamed only when still wanted, asynchronous once the disk is slow. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryFileWriter, writeEntryFile } from "../../../src/http/proxy/cache/entry-files.js";

describe("entry file writer", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirekit-entry-writer-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("writes the parts of each queued file in one batch, after the current turn, and renames them into place", async () => {
    const w = new EntryFileWriter(() => 0);
    const a = w.write(join(dir, "a.tmp"), join(dir, "a.wkc"), [Buffer.from("head|"), Buffer.from("body|"), Buffer.from("foot")], () => true);
    const b = w.write(join(dir, "b.tmp"), join(dir, "b.wkc"), [Buffer.from("second")], () => true);
    // Nothing is written in the turn that queued them (the response goes out first).
    assert.equal(existsSync(join(dir, "a.tmp")) || existsSync(join(dir, "a.wkc")) || existsSync(join(dir, "b.wkc")), false);
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    assert.equal(await readFile(join(dir, "a.wkc"), "utf8"), "head|body|foot");
    assert.equal(await readFile(join(dir, "b.wkc"), "utf8"), "second");
    assert.ok(w.synchronous);
  });

  it("writes nothing for an entry no longer wanted when its turn comes", async () => {
    let wanted = true;
    const w = new EntryFileWriter(() => 0);
    const p = w.write(join(dir, "c.tmp"), join(dir, "c.wkc"), [Buffer.from("x")], () => wanted);
    wanted = false;
    assert.equal(await p, false);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith("c.")), []);
  });

  it("fails (and leaves no temporary file) when the file cannot be created", async () => {
    const w = new EntryFileWriter(() => 0);
    await assert.rejects(w.write(join(dir, "missing", "d.tmp"), join(dir, "missing", "d.wkc"), [Buffer.from("x")], () => true));
    await assert.rejects(writeEntryFile(join(dir, "missing", "e.tmp"), join(dir, "missing", "e.wkc"), [Buffer.from("x")], () => true));
  });

  it("goes asynchronous for good after several slow files in a row, not after one", async () => {
    let t = 0;
    let slow = false;
    // Each synchronous file reads the clock twice; a slow one sees 5 ms pass.
    const w = new EntryFileWriter(() => (slow ? (t += 2.5) : t), 2);
    const write = (name: string): Promise<boolean> => w.write(join(dir, `${name}.tmp`), join(dir, `${name}.wkc`), [Buffer.from(name)], () => true);
    slow = true;
    assert.equal(await write("s1"), true);
    slow = false;
    assert.equal(await write("f1"), true);
    assert.ok(w.synchronous, "one slow file is not a slow disk");
    slow = true;
    for (const n of ["s2", "s3", "s4", "s5"]) assert.equal(await write(n), true);
    assert.equal(w.synchronous, false);
    slow = false;
    assert.equal(await write("after"), true);
    assert.equal(await readFile(join(dir, "after.wkc"), "utf8"), "after");
    assert.equal(await readFile(join(dir, "s5.wkc"), "utf8"), "s5");
  });
});
