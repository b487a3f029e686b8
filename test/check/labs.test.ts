/**
 * Every lab against student-like Python programs with a known verdict: a correct solution and
 * the typical mistakes. All the checks start at once (each on its own ports) and each test
 * awaits its own, so the file takes about as long as the slowest check. The pinger client's,
 * which judge timings, have a file (a process) of their own: udp-ping-client.test.ts.
 */
import { runCases, type Case } from "./fixtures.js";

const web = (variant: string, want: string, ok: boolean): Case => ({ lab: "web-server", variant, script: "WebServer.py", args: ["{port}"], want, ok });
const http = (variant: string, want: string, ok: boolean): Case => ({ lab: "http-client", variant, script: "client.py", args: ["{host}", "{port}", "{file}"], want, ok });
const pingServer = (variant: string, want: string, ok: boolean): Case => ({ lab: "udp-ping-server", variant, script: "UDPPingerServer.py", args: ["{port}"], want, ok });
// The lab's default time limits, for the programs that hang too: a shorter limit (3 s, 4.5 s) was
// reached on a loaded machine before the program had done what its marks rest on.
const smtp = (variant: string, want: string, ok: boolean): Case => ({ lab: "smtp-client", variant, script: "MailClient.py", args: ["{host}", "{port}"], want, ok });
const proxy = (variant: string, want: string, ok: boolean): Case => ({ lab: "proxy", variant, script: "ProxyServer.py", args: ["{port}"], want, ok });

const heartbeat = (variant: string, want: string, ok: boolean): Case => ({ lab: "heartbeat-client", variant, script: "UDPHeartbeatClient.py", args: ["{host}", "{port}"], want, ok });

// Seed 2: heartbeats 6 and 9 are skipped; the server that never notices the silence is killed at the lab's limit.
const beatServer = (variant: string, want: string, ok: boolean): Case => ({ lab: "heartbeat-server", variant, script: "UDPHeartbeatServer.py", args: ["{port}"], want, ok, seed: 2 });

const echoServer = (variant: string, want: string, ok: boolean): Case => ({ lab: "udp-echo-server", variant, script: "udp_server.py", args: ["{host}", "{port}"], want, ok });

const CASES: Case[] = [
  //                     listen get-200 get-body 404 browser concurrent
  web("correct", "✓✓✓✓–✓", true),
  web("single-thread", "✓✓✓✓–✗", true),
  web("no-404", "✓✓✓✗–✗", false),
  web("short-send", "✓✓✗✓–✗", false),
  //                      get-request show-200 show-404
  http("correct", "✓✓✓", true),
  http("no-slash", "✗✗✗", false),
  //                           bind upper loss garbage
  pingServer("correct", "✓✓✓✓", true),
  pingServer("always-replies", "✓✓✗✓", false),
  pingServer("decodes", "✓✓✓✗", false),
  //                     helo auth mail rcpt data quit order await print mime starttls (skipped without --starttls; smtp-starttls.test.ts)
  smtp("correct", "✓✓✓✓✓✓✓✓✓✓–", true),
  smtp("no-wait", "✓✓✓✓✓✓✓✗✓✗–", false),
  smtp("no-dot", "✓✓✓✓✗✗✗✓✓✗–", false),
  smtp("no-quit", "✓✓✓✓✓✗✗✓✓✓–", false),
  //                     fetch cache 404 big post validate https
  proxy("correct", "✓✓✓✓✓✗✗", true),
  proxy("never-caches", "✓✗✓✓✓✗✗", false),
  proxy("truncates", "✓✓✓✗✓✗✗", true),
  proxy("validating", "✓✓✓✓✓✓✗", true),
  proxy("https", "✓✓✓✓✓✗✓", true),
  proxy("one-shot-tunnel", "✓✓✓✓✓✗✗", true),
  //                       beat sequence timestamp outlives-server
  heartbeat("correct", "✓✓✓✓", true),
  heartbeat("no-timestamp", "✓✓✗✓", false),
  heartbeat("gives-up", "✓✓✓✗", false),
  //                         bind lost delay stopped
  beatServer("correct", "✓✓✓✓", true),
  beatServer("never-notices", "✓✓✓✗", false),
  //                           bind too-big parts
  echoServer("correct", "✓✓✓", true),
  echoServer("no-try", "✓✗✗", false),
];

runCases(CASES);
