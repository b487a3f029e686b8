/** Byte sizes on the command line: "1024", "64k", "100MiB", "1GiB", "1.5GB". */
import { usageError } from "./errors.js";

const FACTORS: Record<string, number> = {
  "": 1, b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4,
};

/**
 * Parse a size into bytes (binary prefixes for bare k/m/g, as `dd` and Squid do).
 *
 * @example
 * parseSize("1GiB") // 1073741824
 */
export function parseSize(text: string, what = "size"): number {
  const m = /^\s*(\d+(?:\.\d*)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = m ? FACTORS[(m[2] ?? "").toLowerCase()] : undefined;
  if (m === null || factor === undefined) throw usageError(`invalid ${what} '${text}' (examples: 4096, 64k, 100MiB, 1GiB)`);
  return Math.floor(Number(m[1]) * factor);
}

/** Format bytes for people: "812 B", "4.0 KiB", "1.2 MiB". */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
