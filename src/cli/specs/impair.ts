/**
 * The impairment options every UDP server takes (`--loss`, `--loss-burst`, `--delay`,
 * `--jitter`, `--reorder`, `--duplicate`, `--corrupt`, `--rate`, `--seed`), declared once, and
 * the two ways into core's ImpairmentConfig: parsed flags, and the lab's `SERVICE:key=value,...`.
 */
import { parseDuration } from "../../core/duration.js";
import { usageError } from "../../core/errors.js";
import type { ImpairmentConfig } from "../../core/impair.js";
import { optionNumber, type OptionDef } from "../spec.js";

export const impairOptions = {
  loss: { type: "float", value: "P", default: 0, min: 0, max: 1, help: "drop this share 0..1 of arriving datagrams, as a bad network does" },
  "loss-burst": { type: "float", value: "N", min: 1, label: "loss-burst", help: "losses come in bursts of mean length N (Gilbert-Elliott), same average --loss" },
  delay: { type: "string", value: "T", help: "delay every datagram by T (a bare number is ms: 20, 20ms, 0.2s)" },
  jitter: { type: "string", value: "T", help: "vary each delay uniformly by ±T, so datagrams overtake each other" },
  reorder: { type: "float", value: "P", default: 0, min: 0, max: 1, help: "hold this share back until the next datagram has gone" },
  duplicate: { type: "float", value: "P", default: 0, min: 0, max: 1, help: "deliver this share twice" },
  corrupt: { type: "float", value: "P", default: 0, min: 0, max: 1, help: "flip one random bit in this share" },
  rate: { type: "size", value: "BYTES/s", help: "token-bucket rate (64k = 65536 bytes/s); over-rate datagrams wait, up to 1 s, then drop" },
  seed: { type: "integer", value: "N", min: 0, max: 2 ** 32 - 1, help: "seed for the impairments (same seed, same drops, same delays)" },
} as const satisfies Readonly<Record<string, OptionDef>>;

/** The impairment keys, as flags (`--loss-burst`) and as lab keys (`loss-burst=3`). */
export type ImpairKey = keyof typeof impairOptions;

/** The two impairments a TCP server takes (`http serve`, the lab's mail sink): a stream has no datagrams to drop. */
export const tcpImpairOptions = {
  delay: { type: "string", value: "T", help: "wait T before every response (a bare number is ms: 100, 100ms, 0.5s)" },
  rate: { type: "size", value: "BYTES/s", help: "send at most this many bytes/s (64k = 65536), one budget shared by every connection" },
} as const satisfies Readonly<Record<string, OptionDef>>;

/** `--delay` / `--rate` of a TCP server as milliseconds and bytes per second. */
export function tcpImpairmentFromValues(v: { delay: string | undefined; rate: number | undefined }): { delayMs?: number; rateBytesPerSec?: number } {
  const out: { delayMs?: number; rateBytesPerSec?: number } = {};
  if (v.delay !== undefined) out.delayMs = parseDelay(v.delay, "delay");
  if (v.rate !== undefined) {
    if (!(v.rate >= 1)) throw usageError(`invalid --rate '${v.rate}' (at least 1 byte/s)`);
    out.rateBytesPerSec = v.rate;
  }
  return out;
}

/** The parsed values of `impairOptions` (a form may change `loss`'s default). */
export interface ImpairValues {
  loss: number;
  "loss-burst": number | undefined;
  delay: string | undefined;
  jitter: string | undefined;
  reorder: number;
  duplicate: number;
  corrupt: number;
  rate: number | undefined;
  seed: number | undefined;
}

/**
 * `--delay` and `--jitter`: milliseconds when bare (as netem and the lab write them), or a
 * duration with a unit.
 *
 * @example
 * parseDelay("20") // 20
 * parseDelay("0.2s") // 200
 */
export function parseDelay(text: string, what = "delay"): number {
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return Number(text);
  return parseDuration(text, what);
}

/**
 * The core config for parsed flags.
 *
 * @example
 * impairmentFromValues(parseForm(serveForm, ["--loss", "0.3", "--jitter", "20ms"]).values)
 * // { loss: 0.3, jitterMs: 20 }
 */
export function impairmentFromValues(v: ImpairValues): ImpairmentConfig {
  const c: ImpairmentConfig = { loss: v.loss };
  if (v["loss-burst"] !== undefined) c.lossBurst = v["loss-burst"];
  if (v.delay !== undefined) c.delayMs = parseDelay(v.delay, "delay");
  if (v.jitter !== undefined) c.jitterMs = parseDelay(v.jitter, "jitter");
  if (v.reorder > 0) c.reorder = v.reorder;
  if (v.duplicate > 0) c.duplicate = v.duplicate;
  if (v.corrupt > 0) c.corrupt = v.corrupt;
  if (v.rate !== undefined) c.rateBytesPerSec = v.rate;
  return c;
}

/** One `--impair` of the lab: the service, its impairments, and the seed when given. */
export interface ImpairSpec {
  service: string;
  config: ImpairmentConfig;
  seed?: number;
}

const KEYS = Object.keys(impairOptions) as ImpairKey[];

function isImpairKey(k: string): k is ImpairKey {
  return (KEYS as string[]).includes(k);
}

/**
 * Parse `SERVICE:key=value,key=value` (`udp-ping:loss=0.3,jitter=20ms`) with the same
 * converters and bounds as the flags. The service name is not checked here.
 *
 * @example
 * parseImpairSpec("udp-ping:loss=0.3,jitter=20ms") // { service: "udp-ping", config: { loss: 0.3, jitterMs: 20 } }
 */
export function parseImpairSpec(text: string): ImpairSpec {
  const colon = text.indexOf(":");
  const service = colon === -1 ? "" : text.slice(0, colon).trim();
  const body = colon === -1 ? "" : text.slice(colon + 1);
  if (service === "" || body.trim() === "") throw usageError(`invalid --impair '${text}' (write SERVICE:key=value,... e.g. udp-ping:loss=0.3,jitter=20ms)`);
  const config: ImpairmentConfig = {};
  const spec: ImpairSpec = { service, config };
  for (const item of body.split(",")) {
    const eq = item.indexOf("=");
    const key = (eq === -1 ? item : item.slice(0, eq)).trim();
    const raw = eq === -1 ? "" : item.slice(eq + 1).trim();
    if (!isImpairKey(key)) throw usageError(`unknown impairment '${key}' in --impair '${text}' (keys: ${KEYS.join(", ")})`);
    if (raw === "") throw usageError(`impairment '${key}' in --impair needs a value (${key}=...)`);
    switch (key) {
      case "delay":
        config.delayMs = parseDelay(raw, "delay");
        break;
      case "jitter":
        config.jitterMs = parseDelay(raw, "jitter");
        break;
      case "seed":
        spec.seed = optionNumber(key, impairOptions.seed, raw);
        break;
      case "loss":
        config.loss = optionNumber(key, impairOptions.loss, raw);
        break;
      case "loss-burst":
        config.lossBurst = optionNumber(key, impairOptions["loss-burst"], raw);
        break;
      case "reorder":
        config.reorder = optionNumber(key, impairOptions.reorder, raw);
        break;
      case "duplicate":
        config.duplicate = optionNumber(key, impairOptions.duplicate, raw);
        break;
      case "corrupt":
        config.corrupt = optionNumber(key, impairOptions.corrupt, raw);
        break;
      case "rate":
        config.rateBytesPerSec = optionNumber(key, impairOptions.rate, raw);
        break;
    }
  }
  return spec;
}
