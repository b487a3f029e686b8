/**
 * What a CLI command gets from the outside world: argv, output streams, environment, a clock
 * and an AbortSignal that fires on SIGINT/SIGTERM. Injected so commands run in-process in tests.
 */
import type { Clock } from "../core/clock.js";
import type { Random } from "../core/random.js";
import type { CommandSpec } from "./spec.js";

/** The part of a writable stream a command uses. */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliContext {
  stdout: OutStream;
  stderr: OutStream;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM: clients stop and print statistics, servers drain and exit 0. */
  signal: AbortSignal;
  /** Register a SIGQUIT handler (status line on stderr, as ping does); returns an unregister function. */
  onStatusRequest(fn: () => void): () => void;
  /** Standard input, for prompts (SMTP password). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Randomness for protocol values (MIME boundaries). @default secureRandom */
  random?: Random;
  /** Print stack traces on internal errors. */
  debug: boolean;
}

/** A command module: `wirekit <name> ...`. */
export interface CommandModule {
  /** The command's spec; its help text (usage, options, examples) is rendered from it only for --help. */
  spec: CommandSpec;
  /** Run with the arguments after the command name; resolves to the exit status. */
  run(argv: string[], ctx: CliContext): Promise<number>;
}

/** True when colour should be used on `stream` (a TTY and NO_COLOR unset). */
export function useColor(stream: OutStream, env: CliContext["env"]): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "") && env.TERM !== "dumb";
}
