/**
 * One declaration per command: its forms (the client form, `serve`, ...), their positionals and
 * options, usage lines and examples. The parser, `--help`, the man page, the markdown reference
 * and the shell completions are all generated from it (spec-doc.ts, completion.ts), so they
 * cannot drift apart. Parsing errors are one-line usage errors (exit 2).
 */
import { isIP } from "node:net";
import { parsePort } from "../core/address.js";
import { parseDuration } from "../core/duration.js";
import { usageError } from "../core/errors.js";
import { parseSize } from "../core/size.js";
import { closest } from "./suggest.js";

/** How an option's value is read. Numbers come out typed; durations in milliseconds; sizes in bytes. */
export type OptionType = "string" | "integer" | "float" | "duration" | "size" | "port" | "boolean" | "list";

/** What a shell should offer for a value. */
export type CompleteKind = "file" | "directory" | "host" | readonly string[];

export interface OptionDef {
  type: OptionType;
  /** One-letter alias: `-c`. */
  short?: string;
  /** More one-letter aliases: `-n` for `--count` where the lab writes it so. */
  aliases?: readonly string[];
  /** One line for --help. */
  help: string;
  /** Longer text for the man page. */
  description?: string;
  /** Name of the value in help: N, T, ADDR. */
  value?: string;
  /**
   * A string option whose value may be left out: `--spa` alone means this value, another is
   * given only as `--spa=FILE` (getopt's optional argument), so `--spa ROOT` keeps ROOT a
   * positional.
   */
  optionalValue?: string;
  /** Default: a number, or for durations and sizes also their text ("1s", "1GiB"). */
  default?: string | number;
  /** Bounds: integers and floats in their unit, durations in milliseconds. */
  min?: number;
  max?: number;
  /** Name in error messages ("invalid <label> 'x'"); default: the long name. */
  label?: string;
  complete?: CompleteKind;
  /** Parsed but not shown in help, man page, reference or completions (an internal spelling). */
  hidden?: boolean;
}

export type PositionalKind = "host" | "port" | "directory" | "file" | "text";

export interface PositionalDef {
  name: string;
  help?: string;
  kind?: PositionalKind;
  optional?: boolean;
  /** The last positional only: it may be given any number of times (`ping A B C`, `check LAB -- COMMAND ARGS...`). */
  variadic?: boolean;
}

export type OptionTable = Readonly<Record<string, OptionDef>>;

/** One way to call a command: the client form (no `name`), `serve`, `send-big`, ... */
export interface FormSpec<O extends OptionTable = OptionTable> {
  /** The subcommand word; absent for the default form. */
  name?: string;
  /** More words for the same form (`wirekit proxy serve` = `wirekit proxy`). */
  aliases?: readonly string[];
  /** Heading of its options in --help ("Server options"). */
  title?: string;
  /** Text under the heading. */
  intro?: string;
  /** Usage lines, without the leading "wirekit <tool>". */
  usage: readonly string[];
  positionals: readonly PositionalDef[];
  options: O;
  /** Documented here but parsed elsewhere (raw help text instead of generated option lines). */
  external?: string;
}

export interface CommandSpec {
  name: string;
  /** The line in `wirekit --help`. */
  summary: string;
  /** The line at the top of --help and in the man page's NAME. */
  title: string;
  /** Paragraphs after the usage. */
  description?: string;
  forms: readonly FormSpec[];
  /** Paragraphs after the options. */
  notes?: string;
  exitStatus?: string;
  /** Full command lines ("wirekit ping 127.0.0.1 -n 3"), optionally followed by "  # comment". */
  examples: readonly string[];
}

type NumericType = "integer" | "float" | "duration" | "size" | "port";

/** The typed value of one option. */
export type OptionValue<D extends OptionDef> = D["type"] extends "boolean"
  ? boolean
  : D["type"] extends "list"
    ? string[]
    : D["type"] extends NumericType
      ? D extends { default: string | number } ? number : number | undefined
      : D extends { default: string } ? string : string | undefined;

export type Values<O extends OptionTable> = { -readonly [K in keyof O]: OptionValue<O[K]> };

export interface Parsed<O extends OptionTable> {
  values: Values<O>;
  positionals: string[];
  /** Options the user gave (long names), for "X only makes sense with Y" checks. */
  given: ReadonlySet<string>;
}

/** Declare a form; keeps the literal option table for typed values. */
export function defineForm<const O extends OptionTable>(form: FormSpec<O>): FormSpec<O> {
  return form;
}

/** Declare a command. */
export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}

/** The options a form documents: all but the hidden ones. */
export function shownOptions(form: FormSpec): Array<[string, OptionDef]> {
  return Object.entries(form.options).filter(([, d]) => d.hidden !== true);
}

/** Every flag spelling of an option: ["-c", "-n", "--count"]. */
export function flagsOf(name: string, def: OptionDef): string[] {
  return [...(def.short === undefined ? [] : [def.short]), ...(def.aliases ?? [])].map((s) => `-${s}`).concat(`--${name}`);
}

/** The form `argv[0]` selects, and the arguments after its word. */
export function selectForm(spec: CommandSpec, argv: readonly string[]): { form: FormSpec; rest: string[] } | undefined {
  const word = argv[0];
  const named = spec.forms.find((f) => word !== undefined && (f.name === word || f.aliases?.includes(word) === true));
  if (named !== undefined) return { form: named, rest: argv.slice(1) };
  const plain = spec.forms.find((f) => f.name === undefined);
  return plain === undefined ? undefined : { form: plain, rest: [...argv] };
}

function unknownOption(flag: string, form: FormSpec): never {
  const longs = Object.keys(form.options).map((n) => `--${n}`).concat("--help");
  const near = flag.startsWith("--") ? closest(flag, longs) : undefined;
  throw usageError(`unknown option '${flag}'${near === undefined ? " (see --help)" : ` (did you mean ${near}?)`}`);
}

function needsValue(flag: string, next: string | undefined): never {
  if (next === undefined) throw usageError(`option '${flag}' needs a value`);
  throw usageError(`option '${flag}' needs a value; to give one starting with '-', write ${flag.startsWith("--") ? `${flag}=-VALUE` : `${flag}-VALUE`}`);
}

/** A value that looks like an option (as node:util parseArgs judges it): "-x", but not "-". */
function optionLike(v: string | undefined): boolean {
  return v === undefined || (v.length > 1 && v.startsWith("-"));
}

function convert(name: string, def: OptionDef, raw: string): number {
  const label = def.label ?? name;
  switch (def.type) {
    case "integer": {
      if (!/^-?\d+$/.test(raw.trim())) throw usageError(`invalid ${label} '${raw}' (must be a whole number)`);
      const n = Number(raw);
      const min = def.min ?? 0;
      const max = def.max ?? Number.MAX_SAFE_INTEGER;
      if (n < min || n > max) throw usageError(`invalid ${label} '${raw}' (must be ${min}-${max})`);
      return n;
    }
    case "float": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw usageError(`invalid ${label} '${raw}' (must be a number)`);
      const min = def.min ?? -Infinity;
      const max = def.max ?? Infinity;
      if (n < min || n > max) throw usageError(`invalid ${label} '${raw}' (must be between ${min} and ${max})`);
      return n;
    }
    case "duration": {
      const ms = parseDuration(raw, label);
      if (ms < (def.min ?? 0)) throw usageError(`invalid ${label} '${raw}' (must be at least ${def.min ?? 0} ms)`);
      return ms;
    }
    case "size":
      return parseSize(raw, label);
    case "port":
      return parsePort(raw, label);
    default:
      throw new Error(`not a numeric option type: ${def.type}`);
  }
}

/**
 * Convert one raw value as an option of `def`'s type would be, for options whose text needs a
 * look first (`--workers auto|N`).
 *
 * @example
 * optionNumber("workers", { type: "integer", min: 1, max: 256, help: "" }, "4") // 4
 */
export function optionNumber(name: string, def: OptionDef, raw: string): number {
  return convert(name, def, raw);
}

function defaultValue(name: string, def: OptionDef): unknown {
  switch (def.type) {
    case "boolean":
      return false;
    case "list":
      return [];
    case "string":
      return def.default === undefined ? undefined : String(def.default);
    default:
      if (def.default === undefined) return undefined;
      return typeof def.default === "number" ? def.default : convert(name, def, def.default);
  }
}

/** "HOST:PORT" or "[V6]:PORT" split in two; undefined for anything else (a bare IPv6 address too). */
export function splitHostPort(text: string): [string, string] | undefined {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) return [v6[1] ?? "", v6[2] ?? ""];
  if (isIP(text) !== 0) return undefined;
  const m = /^([^:[\]]+):(\d+)$/.exec(text);
  return m ? [m[1] ?? "", m[2] ?? ""] : undefined;
}

/** The hint for a bare number where something else was expected: "; to set the port use --port 8000". */
export function portHint(form: FormSpec, value: string): string {
  return /^\d+$/.test(value) && form.options.port !== undefined ? `; to set the port use --port ${value}` : "";
}

function checkPositionals(form: FormSpec, given: string[]): string[] {
  const defs = form.positionals;
  let args = given;
  // "HOST:PORT" wherever "HOST PORT" is asked for.
  const hostAt = defs.findIndex((d, i) => d.kind === "host" && defs[i + 1]?.kind === "port");
  const joined = args[hostAt];
  if (hostAt !== -1 && joined !== undefined && args.length === defs.length - 1) {
    const pair = splitHostPort(joined);
    if (pair !== undefined) args = [...args.slice(0, hostAt), ...pair, ...args.slice(hostAt + 1)];
  }
  args.forEach((a, i) => {
    if (defs[i]?.kind === "host" && portHint(form, a) !== "") throw usageError(`unexpected argument '${a}'${portHint(form, a)}`);
  });
  const required = defs.filter((d) => d.optional !== true).length;
  if (args.length < required) throw usageError(`missing ${defs.slice(args.length, required).map((d) => d.name).join(" and ")} (see --help)`);
  const extra = defs.at(-1)?.variadic === true ? undefined : args[defs.length];
  if (extra !== undefined) {
    const hint = portHint(form, extra);
    throw usageError(`unexpected argument '${extra}'${hint === "" ? " (see --help)" : hint}`);
  }
  return args;
}

/**
 * Parse the arguments of one form: long options (`--count 3`, `--count=3`), short ones
 * (`-c 3`, `-c3`, `-qv`), `--` before positionals; values converted to their types.
 *
 * @example
 * const { values, positionals } = parseForm(serveForm, ["--port", "0", "-q"]);
 */
export function parseForm<O extends OptionTable>(form: FormSpec<O>, argv: readonly string[]): Parsed<O> {
  const shorts = new Map<string, string>();
  for (const [name, def] of Object.entries(form.options)) {
    for (const s of [def.short, ...(def.aliases ?? [])]) if (s !== undefined) shorts.set(s, name);
  }
  const raw = new Map<string, string | string[] | true>();
  const positionals: string[] = [];
  const set = (name: string, def: OptionDef, value: string | true): void => {
    if (def.type === "list") raw.set(name, [...((raw.get(name) as string[] | undefined) ?? []), String(value)]);
    else raw.set(name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      const def = form.options[name];
      if (def === undefined) unknownOption(`--${name}`, form);
      if (def.type === "boolean") {
        if (eq !== -1) throw usageError(`option '--${name}' takes no value`);
        set(name, def, true);
      } else if (eq !== -1) {
        set(name, def, a.slice(eq + 1));
      } else if (def.optionalValue !== undefined) {
        set(name, def, def.optionalValue);
      } else {
        const next = argv[i + 1];
        if (optionLike(next)) needsValue(`--${name}`, next);
        set(name, def, next ?? "");
        i++;
      }
      continue;
    }
    if (a.length > 1 && a.startsWith("-")) {
      for (let j = 1; j < a.length; j++) {
        const ch = a[j] ?? "";
        const name = shorts.get(ch);
        const def = name === undefined ? undefined : form.options[name];
        if (name === undefined || def === undefined) unknownOption(`-${ch}`, form);
        if (def.type === "boolean") {
          set(name, def, true);
          continue;
        }
        const rest = a.slice(j + 1);
        if (rest !== "") set(name, def, rest);
        else {
          const next = argv[i + 1];
          if (optionLike(next)) needsValue(`-${ch}`, next);
          set(name, def, next ?? "");
          i++;
        }
        break;
      }
      continue;
    }
    positionals.push(a);
  }
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(form.options)) {
    const r = raw.get(name);
    if (r === undefined) values[name] = defaultValue(name, def);
    else if (def.type === "boolean" || def.type === "list" || def.type === "string") values[name] = r;
    else values[name] = convert(name, def, String(r));
  }
  return { values: values as Values<O>, positionals: checkPositionals(form, positionals), given: new Set(raw.keys()) };
}
