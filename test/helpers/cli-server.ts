/**
 * A resident `wirekit` for the namespace tests: started once per namespace (under `ip netns
 * exec`), it runs each command it is sent in-process with cli.ts's runCliCapture, as the other
 * CLI tests do in their own process, so a command costs no node start-up (about 0.1 s of CPU
 * each; the traceroute and ping suites run 60-odd commands). Each command has its own context:
 * captured output, the environment with NO_COLOR=1, the real clock, its own AbortSignal. Commands
 * may run at the same time (ping's tests start several at once).
 *
 * Protocol, one JSON object per line: stdin `{id, argv}`, stdout `{id, code, stdout, stderr}`.
 * Nothing else writes to this process's stdout: commands print only through their context.
 * Started by netns-cli.ts; ends when its stdin closes.
 */
import { createInterface } from "node:readline";
import { runCliCapture } from "./cli.js";

interface Request {
  id: number;
  argv: string[];
}

const env = { ...process.env, NO_COLOR: "1" };

async function serve(req: Request): Promise<void> {
  const r = await runCliCapture(req.argv, { env });
  process.stdout.write(`${JSON.stringify({ id: req.id, ...r })}\n`);
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => void serve(JSON.parse(line) as Request));
// Commands can leave an idle handle behind (the real binary exits 200 ms after its result);
// once no more commands can come, exit as it does.
lines.on("close", () => setTimeout(() => process.exit(0), 200).unref());
process.stdout.write("ready\n");
