/**
 * tshark, the oracle that reads the `--pcap` files back: a reader no one here wrote.
 *
 * Each tshark start costs about 0.2 s of CPU and 0.3-1 s of wall time before it reads a packet
 * (it registers every dissector), far more than reading a test's capture. So `readCapture` asks
 * one run for everything a test wants of one file: the per-packet fields and any number of
 * `-z follow` reassemblies, which tshark prints after the packets.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

/** The tshark binary, or undefined when it is not installed. */
export const TSHARK = ["/usr/bin/tshark", "/usr/local/bin/tshark"].find((p) => existsSync(p));

/** node:test options that skip a test or suite when tshark is missing. */
export const noTshark = TSHARK === undefined ? { skip: "tshark is not installed (.ci/run installs it)" } : {};

/** What to read of one capture. */
export interface CaptureQuery {
  /** `-o name:value` preferences, e.g. "tcp.check_checksum:TRUE". */
  prefs?: readonly string[];
  /** Fields printed per packet (`-T fields -e ...`), separated by '|'. */
  fields?: readonly string[];
  /** `-z follow` arguments, e.g. "tcp,raw,0" or "tcp,ascii,0". */
  follow?: readonly string[];
}

/** One run's answer: the field text as tshark printed it, and each follow block by its argument. */
export interface CaptureRead {
  /** The per-packet lines ("" when no fields were asked for). */
  fields: string;
  /** The block tshark printed for a `follow` argument (its header lines included). */
  follow(arg: string): string;
}

/** tshark's frame between the packet lines and each `-z` block. */
const RULE = "===================================================================";

/** Read `file` once with tshark: fields per packet and the asked-for follow blocks. */
export async function readCapture(file: string, q: CaptureQuery): Promise<CaptureRead> {
  const fields = q.fields ?? [];
  const follow = q.follow ?? [];
  const args = [
    "-r", file,
    ...(q.prefs ?? []).flatMap((p) => ["-o", p]),
    // -q would also silence the fields; with no fields it keeps the packet summaries out.
    ...(fields.length === 0 ? ["-q"] : ["-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])]),
    ...follow.flatMap((f) => ["-z", `follow,${f}`]),
  ];
  const out = await new Promise<string>((resolve, reject) =>
    execFile(TSHARK ?? "tshark", args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err === null ? resolve(stdout) : reject(err))),
  );
  const first = out.indexOf(`\n${RULE}\n`);
  const packetText = follow.length === 0 || first === -1 ? out : out.slice(0, first + 1);
  // Blocks are "RULE\nFollow: tcp,raw\nFilter: tcp.stream eq 0\n...\nRULE\n", in no promised order.
  const blocks = new Map<string, string>();
  for (const m of out.slice(packetText.length).matchAll(new RegExp(`${RULE}\\nFollow: (\\w+),(\\w+)\\nFilter: \\w+\\.stream eq (\\d+)\\n[^]*?${RULE}\\n`, "g"))) {
    blocks.set(`${m[1]},${m[2]},${m[3]}`, m[0]);
  }
  return {
    fields: fields.length === 0 ? "" : packetText,
    follow(arg) {
      const b = blocks.get(arg);
      if (b === undefined) throw new Error(`tshark printed no follow block for ${arg} (asked: ${follow.join(" ")})`);
      return b;
    },
  };
}

/** The bytes of a `follow,<proto>,raw,<n>` block, both directions in order, as latin1 text. */
export function rawStream(block: string): string {
  const hex = block
    .split("\n")
    .filter((l) => /^\s*[0-9a-f]+$/.test(l))
    .map((l) => l.trim())
    .join("");
  return Buffer.from(hex, "hex").toString("latin1");
}
