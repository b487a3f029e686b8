/**
 * The monitor's two list files, parsed (pure; the CLI reads the files):
 * - `--keys FILE`: `client-id secret` per line;
 * - `--expect FILE`: `client-id [deadline]` per line (a duration: "10m", "90s", "500ms").
 * Blank lines and `#` comments are skipped. A malformed line is a usage error naming the file
 * and line, and never showing a secret.
 */
import { parseDuration } from "../../core/duration.js";
import { usageError } from "../../core/errors.js";
import { isValidFieldValue } from "./protocol.js";

/** The significant lines of a list file: [line number, words]. */
function entries(text: string): Array<[number, string[]]> {
  const out: Array<[number, string[]]> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    out.push([i + 1, line.split(/\s+/)]);
  });
  return out;
}

/**
 * Parse a `--keys` file into client id → secret.
 *
 * @example
 * parseKeyFile("# web\nweb-1 s3cret\n", "keys.txt") // Map { "web-1" => "s3cret" }
 */
export function parseKeyFile(text: string, name: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [n, words] of entries(text)) {
    const [id = "", secret] = words;
    if (words.length !== 2 || secret === undefined) throw usageError(`${name} line ${n}: expected 'client-id secret' (${words.length} word${words.length === 1 ? "" : "s"})`);
    if (!isValidFieldValue(id)) throw usageError(`${name} line ${n}: invalid client id (printable ASCII, at most 64 characters)`);
    if (keys.has(id)) throw usageError(`${name} line ${n}: client ${id} listed twice`);
    if (secret.length < 8) throw usageError(`${name} line ${n}: the secret of ${id} is shorter than 8 characters`);
    keys.set(id, secret);
  }
  return keys;
}

/**
 * Parse an `--expect` file into the clients to expect, each with its deadline when given.
 *
 * @example
 * parseExpectFile("db-1\nbackup 26h\n", "expect.txt") // [{ id: "db-1" }, { id: "backup", deadlineMs: 93600000 }]
 */
export function parseExpectFile(text: string, name: string): Array<{ id: string; deadlineMs?: number }> {
  const out: Array<{ id: string; deadlineMs?: number }> = [];
  const seen = new Set<string>();
  for (const [n, words] of entries(text)) {
    const [id = "", deadline] = words;
    if (words.length > 2) throw usageError(`${name} line ${n}: expected 'client-id [deadline]'`);
    if (!isValidFieldValue(id)) throw usageError(`${name} line ${n}: invalid client id '${id.slice(0, 64)}'`);
    if (seen.has(id)) throw usageError(`${name} line ${n}: client ${id} listed twice`);
    seen.add(id);
    if (deadline === undefined) out.push({ id });
    else {
      const ms = parseDuration(deadline, `${name} line ${n} deadline`);
      if (!(ms > 0)) throw usageError(`${name} line ${n}: the deadline must be > 0`);
      out.push({ id, deadlineMs: ms });
    }
  }
  return out;
}
