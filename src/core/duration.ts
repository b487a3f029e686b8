/**
 * Durations on the command line: "1" and "1.5" are seconds (as ping's -i/-W), "250ms",
 * "1.5s", "2m", "1h" carry their unit.
 */
import { usageError } from "./errors.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parse a duration into milliseconds; throws a usage error naming `what` on bad input.
 *
 * @example
 * parseDuration("250ms") // 250
 * parseDuration("1.5")   // 1500
 */
export function parseDuration(text: string, what = "duration"): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (m === null) throw usageError(`invalid ${what} '${text}' (examples: 1, 0.2, 250ms, 1.5s, 2m)`);
  const value = Number(m[1]);
  const unit = (m[2] ?? "s").toLowerCase();
  const ms = value * (UNITS[unit] ?? 1000);
  if (!Number.isFinite(ms)) throw usageError(`invalid ${what} '${text}'`);
  return ms;
}

/**
 * Format milliseconds for people, keeping the digits the user wrote: "20 ms" (not "0.0 s"),
 * "250 ms", "1.05 s" (not a rounded "1.1 s"), "2 min".
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Number(ms.toFixed(3))} ms`;
  if (ms < 120_000) return `${Number((ms / 1000).toFixed(3))} s`;
  if (ms < 7_200_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}
