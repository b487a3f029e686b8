#!/usr/bin/env node
/**
 * `wirekit <tool> ...`: dispatch to a command module, and map errors to one line and an
 * exit status in one place (0 ok, 1 target failed, 2 usage / resolve / local error).
 */
import { readFileSync } from "node:fs";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { systemClock } from "../core/clock.js";
import { WirekitError } from "../core/errors.js";
import { COMMANDS } from "./commands.js";
import type { CliContext } from "./context.js";
import { closest } from "./suggest.js";

export function version(): string {
  const pkgUrl = new URL("../../../package.json", import.meta.url);
  const pkg = JSON.parse(readFileSync(pkgUrl, "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

function topHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]?.summary ?? ""}`);
  return `wirekit ${version()} — the classic socket-programming labs as real tools

Usage: wirekit <tool> [serve] [options]

Tools:
${lines.join("\n")}

Options:
  --help      show help (also: wirekit <tool> --help)
  --version   print the version
  --debug     print stack traces for internal errors

  wirekit completion bash|zsh|fish   print a shell completion script

Example:
  wirekit lab                      # every server on loopback
  wirekit udp-ping 127.0.0.1 12000 # ping the lab's UDP ping server
`;
}

/** "unknown tool 'pnig' (did you mean ping?)", "unknown option '--versoin' (did you mean --version?)". */
function unknownTool(word: string): string {
  const isOption = word.startsWith("-");
  const near = closest(word, isOption ? ["--help", "--version", "--debug"] : [...Object.keys(COMMANDS), "completion", "help"]);
  return `unknown ${isOption ? "option" : "tool"} '${word}' (${near === undefined ? "try: wirekit --help" : `did you mean ${near}?`})`;
}

/** Report an error as one line; returns the exit status. */
export function reportError(err: unknown, ctx: Pick<CliContext, "stderr" | "debug">): number {
  if (err instanceof WirekitError) {
    ctx.stderr.write(`wirekit: ${err.message}\n`);
    if (ctx.debug && err.cause instanceof Error && err.cause.stack) ctx.stderr.write(`${err.cause.stack}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  ctx.stderr.write(`wirekit: internal error: ${msg.split("\n")[0]}${ctx.debug ? "" : " (run with --debug for details)"}\n`);
  if (ctx.debug && err instanceof Error && err.stack) ctx.stderr.write(`${err.stack}\n`);
  return 1;
}

/**
 * Run the CLI with `argv` (without node and script) in the given context; resolves to the
 * exit status. Used by the binary and, in-process, by the tests.
 */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const args = argv.filter((a) => a !== "--debug");
  const first = args[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const topic = first === "help" ? args[1] : undefined;
    if (topic !== undefined && COMMANDS[topic] !== undefined) return runCli([topic, "--help"], ctx);
    ctx.stdout.write(topHelp());
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-V") {
    ctx.stdout.write(`wirekit ${version()}\n`);
    return 0;
  }
  if (first === "completion") {
    try {
      const { runCompletion } = await import("./completion.js");
      return runCompletion(args.slice(1), ctx);
    } catch (err) {
      return reportError(err, ctx);
    }
  }
  const entry = COMMANDS[first];
  if (entry === undefined) {
    ctx.stderr.write(`wirekit: ${unknownTool(first)}\n`);
    return 2;
  }
  try {
    const mod = await entry.load();
    const rest = args.slice(1);
    const dashdash = rest.indexOf("--");
    const optionPart = dashdash === -1 ? rest : rest.slice(0, dashdash);
    if (optionPart.includes("--help") || (optionPart.length === 1 && optionPart[0] === "-h")) {
      const help = (await import("./spec-doc.js")).renderHelp(mod.spec);
      ctx.stdout.write(help.endsWith("\n") ? help : `${help}\n`);
      return 0;
    }
    return await mod.run(rest, ctx);
  } catch (err) {
    return reportError(err, ctx);
  }
}

/** The real process: signals, streams, exit status. */
async function main(): Promise<void> {
  const ac = new AbortController();
  const statusHandlers = new Set<() => void>();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // second Ctrl-C: the user insists
    ac.abort(new WirekitError("ERR_TARGET", `interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGQUIT", () => statusHandlers.forEach((fn) => fn()));
  // Writes to a closed pipe (`wirekit ... | head`) must not crash with a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
  });
  const debug = process.argv.includes("--debug");
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    clock: systemClock,
    signal: ac.signal,
    // A getter: process.stdin builds its stream on first use, and most commands never read it.
    get stdin() {
      return process.stdin;
    },
    debug,
    onStatusRequest(fn) {
      statusHandlers.add(fn);
      return () => statusHandlers.delete(fn);
    },
  };
  process.on("uncaughtException", (err) => {
    process.exitCode = reportError(err, ctx);
    process.exit();
  });
  const code = await runCli(process.argv.slice(2), ctx);
  process.exitCode = code;
  // Servers and clients close their handles; anything left (a stray keep-alive) must not hang us.
  setTimeout(() => process.exit(code), 200).unref();
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) void main();
