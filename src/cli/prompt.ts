/**
 * A prompt that does not echo (for passwords): the terminal goes into raw mode, keys are read
 * one by one, Backspace edits, Enter ends, Ctrl-C or Ctrl-D abort. Nothing typed is ever written.
 */
import { StringDecoder } from "node:string_decoder";
import { WirekitError } from "../core/errors.js";
import type { CliContext, OutStream } from "./context.js";

type Tty = NonNullable<CliContext["stdin"]>;

/**
 * Read one line from a TTY without echo.
 *
 * @example
 * const pw = await readSecret(process.stdin, process.stderr, "Password: ");
 */
export function readSecret(input: Tty, output: OutStream, prompt: string, signal?: AbortSignal): Promise<string> {
  // Echo off before the prompt appears, so a fast typist (or a script) cannot beat it.
  input.setRawMode?.(true);
  output.write(prompt);
  input.resume();
  let value = "";
  // A multi-byte character (a non-ASCII password) may arrive split across two reads.
  const decoder = new StringDecoder("utf8");
  return new Promise<string>((resolve, reject) => {
    const done = (err?: WirekitError): void => {
      input.off("data", onData);
      signal?.removeEventListener("abort", onAbort);
      input.setRawMode?.(false);
      input.pause();
      output.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = (): void => done(new WirekitError("ERR_USAGE", "password prompt interrupted"));
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === "string" ? chunk : decoder.write(chunk)) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new WirekitError("ERR_USAGE", "password prompt interrupted"));
        if (ch === "\u007f" || ch === "\b") value = [...value].slice(0, -1).join("");
        else if (ch >= " ") value += ch;
      }
    };
    input.on("data", onData);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
