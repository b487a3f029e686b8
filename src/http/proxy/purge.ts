/**
 * Removing stored responses on request (invalidation by the operator, RFC 9111 §4.4 leaves the
 * means open): `PURGE <absolute URL>` (forward mode) or `PURGE /path` (gateway mode), and
 * `POST /_wirekit/purge` with `{"url": ...}` or `{"tag": ...}` (the surrogate keys an origin sent
 * in `Surrogate-Key` or `Cache-Tag`), `"soft": true` marking entries stale instead of removing
 * them. Only from loopback or `--purge-allow` CIDRs; everyone else gets 403.
 */
import { mapField } from "../header-list.js";
import type { EntryStore } from "./cache/entry-store.js";
import { sendError, type Exchange } from "./respond.js";
import { gatewayTarget, parseTarget, type GatewayOrigin } from "./target.js";

/** What a purge needs from the server. */
export interface PurgeContext {
  store: EntryStore | undefined;
  gateway: GatewayOrigin | undefined;
  /** May this client address purge? */
  allowed(remoteAddress: string): boolean;
}

/** The body of `POST /_wirekit/purge`. */
export interface PurgeRequest {
  url?: string;
  tag?: string;
  soft?: boolean;
}

const MAX_BODY = 64 * 1024;

/**
 * Parse a purge request body, pure: a JSON object with a string `url` or `tag` (or both) and an
 * optional boolean `soft`.
 *
 * @example
 * parsePurgeBody('{"tag": "product-7", "soft": true}') // { ok: true, value: { tag: "product-7", soft: true } }
 */
export function parsePurgeBody(text: string): { ok: true; value: PurgeRequest } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: "the body is not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { ok: false, reason: 'expected {"url": ...} or {"tag": ...}' };
  const o = v as Record<string, unknown>;
  const out: PurgeRequest = {};
  if (o.url !== undefined) {
    if (typeof o.url !== "string") return { ok: false, reason: "url must be a string" };
    out.url = o.url;
  }
  if (o.tag !== undefined) {
    if (typeof o.tag !== "string" || o.tag === "") return { ok: false, reason: "tag must be a non-empty string" };
    out.tag = o.tag;
  }
  if (o.soft !== undefined) {
    if (typeof o.soft !== "boolean") return { ok: false, reason: "soft must be true or false" };
    out.soft = o.soft;
  }
  if (out.url === undefined && out.tag === undefined) return { ok: false, reason: 'expected {"url": ...} or {"tag": ...}' };
  return { ok: true, value: out };
}

/** The cache key a purge names: an absolute URL, or in gateway mode also a path (with the request's Host). */
function keyOf(url: string, host: string | undefined, gateway: GatewayOrigin | undefined): string | undefined {
  if (gateway !== undefined && url.startsWith("/")) {
    const t = gatewayTarget(url, host, gateway);
    return t.kind === "origin" ? t.href : undefined;
  }
  if (!/^https?:\/\//i.test(url)) return undefined;
  const t = gateway === undefined ? parseTarget(url) : gatewayTarget(url, host, gateway);
  return t.kind === "origin" ? t.href : undefined;
}

function answer(ex: Exchange, purged: number, soft: boolean): void {
  const body = Buffer.from(`${JSON.stringify({ purged, soft })}\n`);
  ex.res.writeHead(200, ["Content-Type", "application/json", "Content-Length", String(body.length), "Cache-Control", "no-store"]);
  ex.bytes = body.length;
  ex.res.end(body);
}

/**
 * Remove (or with `soft`, mark stale) what the request names; how many entries. A shared store
 * removes it on every node; a soft purge stays on this node.
 */
async function apply(store: EntryStore | undefined, key: string | undefined, tag: string | undefined, soft: boolean): Promise<number> {
  if (store === undefined) return 0;
  if (!soft && store.purgeShared !== undefined) return store.purgeShared(key, tag);
  const entries = [...(key === undefined ? [] : store.variants(key)), ...(tag === undefined ? [] : store.withTag(tag))];
  const unique = [...new Set(entries)];
  for (const e of unique) {
    if (soft) store.markStale(e);
    else store.remove(e);
  }
  return unique.length;
}

async function readBody(ex: Exchange): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of ex.req.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `PURGE <target>`: remove the entry the target names.
 *
 * @example
 * if (ex.req.method === "PURGE") return purgeTarget(purgeContext, ex);
 */
export async function purgeTarget(p: PurgeContext, ex: Exchange): Promise<void> {
  ex.label = "LOCAL";
  if (!p.allowed(ex.req.remoteAddress)) {
    ex.label = "DENIED";
    return sendError(ex, 403, `client ${ex.client} may not purge (--purge-allow)`, undefined);
  }
  const key = keyOf(ex.req.url, mapField(ex.req.headers, "host"), p.gateway);
  if (key === undefined) return sendError(ex, 400, p.gateway === undefined ? "PURGE needs an absolute URL" : "PURGE needs /path or an absolute URL", undefined);
  ex.url = key;
  answer(ex, await apply(p.store, key, undefined, false), false);
}

/**
 * `POST /_wirekit/purge` with `{"url": ..., "tag": ..., "soft": ...}`.
 *
 * @example
 * if (path === PURGE_PATH) return purgeByRequest(purgeContext, ex);
 */
export async function purgeByRequest(p: PurgeContext, ex: Exchange): Promise<void> {
  ex.label = "LOCAL";
  if (!p.allowed(ex.req.remoteAddress)) {
    ex.label = "DENIED";
    return sendError(ex, 403, `client ${ex.client} may not purge (--purge-allow)`, undefined);
  }
  if (ex.req.method !== "POST") {
    ex.res.writeHead(405, ["Allow", "POST", "Content-Length", "0"]);
    ex.res.end();
    return;
  }
  const text = await readBody(ex);
  if (text === undefined) return sendError(ex, 413, "purge request body too large", undefined);
  const r = parsePurgeBody(text);
  if (!r.ok) return sendError(ex, 400, r.reason, undefined);
  let key: string | undefined;
  if (r.value.url !== undefined) {
    key = keyOf(r.value.url, mapField(ex.req.headers, "host"), p.gateway);
    if (key === undefined) return sendError(ex, 400, `cannot purge '${r.value.url.slice(0, 200)}': not a URL this proxy caches`, undefined);
  }
  answer(ex, await apply(p.store, key, r.value.tag, r.value.soft === true), r.value.soft === true);
}
