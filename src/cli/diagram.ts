/**
 * `--diagram FILE` for every client tool: the format from the extension, checked before the
 * tool runs (a usage error, exit 2), and the file written once the exchange is over.
 */
import { writeFile } from "node:fs/promises";
import { fromSystemError, usageError } from "../core/errors.js";
import { ladderFormat, renderLadder, type Ladder, type LadderFormat } from "../render/ladder.js";
import type { CliContext } from "./context.js";

/** The format `--diagram PATH` asks for; a usage error when the extension names none. */
export function diagramFormat(path: string): LadderFormat {
  const f = ladderFormat(path);
  if (f === undefined) throw usageError(`--diagram '${path}': the file name must end in .svg, .mmd or .txt`);
  return f;
}

export async function writeDiagram(path: string, ladder: Ladder, ctx: CliContext): Promise<void> {
  try {
    await writeFile(path, renderLadder(ladder, diagramFormat(path)));
  } catch (e) {
    throw fromSystemError(e, `write ${path}`);
  }
  ctx.stderr.write(`diagram written to ${path}\n`);
}
