/**
 * Argument parsing for every command: node:util parseArgs in strict mode, with its errors
 * turned into one-line usage errors (exit 2), plus small typed converters.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { usageError } from "../core/errors.js";
import { parseDuration } from "../core/duration.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What `parseCommandArgs` returns: typed `values` and the positionals. */
export type ParsedArgs<O extends OptionSpec> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/**
 * Parse `argv` against `options`; unknown options and missing values become usage errors.
 *
 * @example
 * const { values, positionals } = parseCommandArgs(argv, { count: { type: "string", short: "c" } });
 */
export function parseCommandArgs<O extends OptionSpec>(argv: string[], options: O): ParsedArgs<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // Node's messages are multi-line and mention "parseArgs"; keep the first sentence.
    const first = msg.split("\n")[0]?.replace(/\. To specify a positional argument.*$/, "") ?? "bad arguments";
    // "-i -1": the hint how to pass a value that starts with '-' is on a later line; keep it.
    const ambiguous = /^Option '(-[^']+)' argument is ambiguous\.$/.exec(first);
    if (ambiguous?.[1] !== undefined) {
      const opt = ambiguous[1];
      throw usageError(`option '${opt}' needs a value; to give one starting with '-', write ${opt.startsWith("--") ? `${opt}=-VALUE` : `${opt}-VALUE`}`);
    }
    throw usageError(first);
  }
}

/** Parse an integer option within [min, max]. */
export function intOption(value: string | undefined, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return def;
  if (!/^-?\d+$/.test(value.trim())) throw usageError(`invalid ${name} '${value}' (must be a whole number)`);
  const n = Number(value);
  if (n < min || n > max) throw usageError(`invalid ${name} '${value}' (must be ${min}-${max})`);
  return n;
}

/** Parse a float option within [min, max]. */
export function floatOption(value: string | undefined, name: string, def: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw usageError(`invalid ${name} '${value}' (must be a number)`);
  if (n < min || n > max) throw usageError(`invalid ${name} '${value}' (must be between ${min} and ${max})`);
  return n;
}

/** Parse a duration option (seconds by default, or with a unit) into ms. */
export function durationOption(value: string | undefined, name: string, defMs: number, minMs = 0): number {
  if (value === undefined) return defMs;
  const ms = parseDuration(value, name);
  if (ms < minMs) throw usageError(`invalid ${name} '${value}' (must be at least ${minMs} ms)`);
  return ms;
}

/** Require exactly `names.length` positionals (or between min and names.length). */
export function positionalArgs(positionals: string[], names: string[], min = names.length): string[] {
  if (positionals.length < min) throw usageError(`missing ${names.slice(positionals.length).join(" and ")} (see --help)`);
  if (positionals.length > names.length) throw usageError(`unexpected argument '${positionals[names.length]}' (see --help)`);
  return positionals;
}
