/**
 * curl's request options for `wirekit http get`, turned into what the client sends: the method
 * (-X, -I, implied POST), the body (-d, --data-binary, --json, -F) and the extra header fields
 * (-H, -u, --json's Accept). Pure apart from nothing: files are named here and read when sent.
 */
import { usageError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { BodySegment, RequestBody } from "../http/client/body.js";
import { encodeMultipart, makeBoundary, parseFormArg, type FormField } from "../http/client/multipart.js";
import { parseHeaderArg } from "../http/client/request.js";

export interface RequestArgs {
  request?: string;
  head?: boolean;
  header?: string[];
  data?: string[];
  "data-binary"?: string[];
  "json-data"?: string[];
  form?: string[];
  user?: string;
  compressed?: boolean;
}

export interface PlannedRequest {
  method: string;
  /** true when the method was given with -X (curl keeps it across redirects). */
  explicitMethod: boolean;
  headers: Array<[string, string]>;
  body: RequestBody | undefined;
}

/**
 * curl spells `--json DATA`, but `--json` alone is wirekit's JSON output. `--json=DATA` is
 * always data; `--json` followed by something that starts like JSON (`{`, `[` but not an
 * IPv6 host, `@FILE`) is data too. Such arguments become `--json-data DATA`.
 */
export function rewriteJsonData(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    const next = argv[i + 1];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (a.startsWith("--json=")) out.push("--json-data", a.slice("--json=".length));
    else if (a === "--json" && next !== undefined && looksLikeJsonData(next)) {
      out.push("--json-data", next);
      i++;
    } else out.push(a);
  }
  return out;
}

function looksLikeJsonData(s: string): boolean {
  if (s.startsWith("{") || s.startsWith("@")) return true;
  return s.startsWith("[") && !/^\[[0-9a-fA-F:.]*:[0-9a-fA-F:.%\w]*\]/.test(s);
}

function dataSegment(text: string, strip: boolean): BodySegment {
  return text.startsWith("@") ? { kind: "file", path: text.slice(1), stripNewlines: strip } : { kind: "bytes", data: Buffer.from(text, "utf8") };
}

const has = (headers: ReadonlyArray<readonly [string, string]>, name: string): boolean => headers.some(([n]) => n.toLowerCase() === name);

/**
 * Plan the request from the parsed options.
 *
 * @example
 * planRequest({ data: ["a=1", "b=2"] }, random).method // "POST", body "a=1&b=2"
 */
export function planRequest(v: RequestArgs, random: Random): PlannedRequest {
  const headers = (v.header ?? []).map(parseHeaderArg);
  if (v.compressed === true && !has(headers, "accept-encoding")) headers.push(["Accept-Encoding", "br, gzip"]);
  const data = [...(v.data ?? []).map((d) => dataSegment(d, true)), ...(v["data-binary"] ?? []).map((d) => dataSegment(d, false))];
  const json = (v["json-data"] ?? []).map((d) => dataSegment(d, false));
  const form = v.form ?? [];
  const kinds = [data.length > 0, json.length > 0, form.length > 0].filter(Boolean).length;
  if (kinds > 1) throw usageError("-d/--data-binary, --json and -F cannot be mixed in one request");
  if (kinds > 0 && v.head === true) throw usageError("-I sends HEAD, which has no body; drop -d/--json/-F or -I");
  let body: RequestBody | undefined;
  if (data.length > 0) {
    // Several -d are joined with '&', as curl does.
    const segments: BodySegment[] = [];
    data.forEach((s, i) => {
      if (i > 0) segments.push({ kind: "bytes", data: Buffer.from("&") });
      segments.push(s);
    });
    body = { segments, contentType: "application/x-www-form-urlencoded" };
  } else if (json.length > 0) {
    body = { segments: json, contentType: "application/json" };
    if (!has(headers, "accept")) headers.push(["Accept", "application/json"]);
  } else if (form.length > 0) {
    const fields = form.map((f): FormField => {
      const field = parseFormArg(f);
      if (field === undefined) throw usageError(`invalid -F '${f}' (expected name=value or name=@file)`);
      return field;
    });
    body = encodeMultipart(fields, makeBoundary(random));
  }
  if (v.user !== undefined) {
    if (!v.user.includes(":")) throw usageError("-u needs USER:PASSWORD (wirekit does not prompt)");
    if (!has(headers, "authorization")) headers.push(["Authorization", `Basic ${Buffer.from(v.user, "utf8").toString("base64")}`]);
  }
  const explicitMethod = v.request !== undefined;
  const method = v.request ?? (v.head === true ? "HEAD" : body !== undefined ? "POST" : "GET");
  return { method, explicitMethod, headers, body };
}

/** curl -O: the last path segment of the URL, as it appears there; refuses names that are not a plain file name. */
export function remoteFileName(url: URL): string {
  const name = url.pathname.split("/").pop() ?? "";
  if (name === "") throw usageError(`-O: the URL '${url.href}' has no file name to save to (use -o FILE)`);
  // eslint-disable-next-line no-control-regex
  if (name === "." || name === ".." || /[\\\x00-\x1f\x7f]/.test(name)) throw usageError(`-O: refusing the unsafe file name '${JSON.stringify(name).slice(1, -1)}' (use -o FILE)`);
  return name;
}
