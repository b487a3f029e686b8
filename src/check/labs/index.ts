/** Every lab `wirekit check` knows, in the order of `wirekit check --list`. */
import type { LabCheck } from "../lab.js";
import { httpClientLab } from "./http-client.js";
import { udpPingServerLab } from "./udp-ping-server.js";
import { createSmtpClientLab, type SmtpClientOptions } from "./smtp-client.js";
import { proxyLab } from "./proxy.js";
import { udpPingClientLab } from "./udp-ping-client.js";
import { heartbeatClientLab } from "./heartbeat-client.js";
import { udpEchoClientLab } from "./udp-echo-client.js";
import { udpEchoServerLab } from "./udp-echo-server.js";
import { icmpPingLab } from "./icmp-ping.js";
import { createWebServerLab, type WebServerOptions } from "./web-server.js";
import { createHeartbeatServerLab, type HeartbeatServerOptions } from "./heartbeat-server.js";

/** Options some labs read. */
export type LabOptions = WebServerOptions & HeartbeatServerOptions & SmtpClientOptions;

/** The graders, built with the given options. */
export function createLabs(options: LabOptions = {}): LabCheck[] {
  return [createWebServerLab(options), httpClientLab, udpPingServerLab, createSmtpClientLab(options), proxyLab, udpPingClientLab, heartbeatClientLab, createHeartbeatServerLab(options), udpEchoClientLab, udpEchoServerLab, icmpPingLab];
}
