/** Every command's spec, in the order of `wirekit --help`: for completions, man pages and docs. */
import type { CommandSpec } from "../spec.js";
import { checkSpec } from "./check.js";
import { heartbeatSpec } from "./heartbeat.js";
import { labSpec } from "./lab.js";
import { httpSpec, proxySpec } from "./http.js";
import { mailSpec } from "./mail.js";
import { pingSpec } from "./ping.js";
import { mtrSpec, tracerouteSpec } from "./traceroute.js";
import { udpEchoSpec } from "./udp-echo.js";
import { udpPingSpec } from "./udp-ping.js";

export const ALL_SPECS: readonly CommandSpec[] = [labSpec, udpPingSpec, heartbeatSpec, udpEchoSpec, httpSpec, proxySpec, mailSpec, pingSpec, tracerouteSpec, mtrSpec, checkSpec];
