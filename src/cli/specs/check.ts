/** The spec of `wirekit check`, the grader. */
import { defineCommand, defineForm } from "../spec.js";
import { json } from "./common.js";
import { impairOptions } from "./impair.js";

/** The labs, in the order of `wirekit check --list` (src/check/labs/index.ts builds them; a test keeps the two equal). */
export const LAB_NAMES = ["web-server", "http-client", "udp-ping-server", "smtp-client", "proxy", "udp-ping-client", "heartbeat-client", "heartbeat-server", "udp-echo-client", "udp-echo-server", "icmp-ping"] as const;

export const checkForm = defineForm({
  title: "Options",
  usage: [
    "LAB [--dir DIR] [--timeout T] [--seed N] [--netns] [--json] [--no-browser] [--message TEXT] [--starttls] -- COMMAND [ARGS...]",
    "LAB --batch DIR [--jobs N] [--csv] [--timeout T] [--seed N] [--netns] [--starttls] -- COMMAND [ARGS...]",
    "--list",
  ],
  positionals: [
    { name: "lab", kind: "text", optional: true, help: "the lab to grade (see --list)" },
    { name: "command", kind: "text", optional: true, variadic: true, help: "after --: the student's program and its arguments, with {host} {port} {file} {dir}" },
  ],
  options: {
    list: { type: "boolean", help: "list the labs and their requirements" },
    timeout: { type: "duration", value: "T", min: 100, help: "time limit of each run of the program (default: the lab's)" },
    seed: { ...impairOptions.seed, help: "seed of the loss and delays (printed in the report; same seed, same drops)" },
    json: json("one JSON document per submission"),
    dir: { type: "string", value: "DIR", complete: "directory", help: "the submission folder, copied for the run (default: the current directory)" },
    batch: { type: "string", value: "DIR", complete: "directory", help: "grade every submission folder DIR/*/, COMMAND run inside each" },
    jobs: { type: "integer", short: "j", value: "N", default: 2, min: 1, max: 64, help: "submissions checked at once with --batch" },
    csv: { type: "boolean", help: "the class table as CSV instead of Markdown" },
    netns: { type: "boolean", help: "run the program in a network namespace where only the counterpart is reachable (needs root and nft; not icmp-ping)" },
    "no-browser": { type: "boolean", help: "web-server: do not load the page in Chromium" },
    starttls: { type: "boolean", help: "smtp-client: offer STARTTLS (a self-signed certificate made for the run, also put beside the program as wirekit-smtp-cert.pem) and judge the upgrade before AUTH and MAIL" },
    message: { type: "string", value: "TEXT", help: "heartbeat-server: the heartbeat as the class's client sends it, with {seq} and {time} (default 'Heartbeat {seq} {time}')" },
  },
});

export const checkSpec = defineCommand({
  name: "check",
  summary: "grade a student's lab program requirement by requirement (one, or a class with --batch)",
  title: "grade a student's program against its lab assignment, requirement by requirement",
  description: `COMMAND is the student's program. In it, {host} and {port} become the address of the
counterpart wirekit runs (or the port the student's server must listen on), {file} the file
the lab asks for, and {dir} the submission folder. The program runs in a temporary copy of the
submission folder (the current directory, or --dir) and in its own process group, which is
killed at the time limit.`,
  forms: [checkForm],
  exitStatus: "0 when every required requirement passed (for every submission with --batch), 1 otherwise, 2 on usage errors.",
  examples: [
    "wirekit check --list",
    "wirekit check web-server -- python3 WebServer.py {port}",
    "wirekit check udp-ping-client --seed 7 -- python3 UDPPingerClient.py {host} {port}",
    "wirekit check web-server --batch submissions/ --jobs 4 -- python3 WebServer.py {port}",
  ],
});
