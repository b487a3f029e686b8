/** The services `wirekit lab` starts, in display order. Each tool adds itself here. */
import type { LabService } from "./service.js";
import { heartbeatService as heartbeat } from "./services/heartbeat.js";
import { httpService as http } from "./services/http.js";
import { mailService as mail } from "./services/mail.js";
import { proxyService as proxy } from "./services/proxy.js";
import { udpEchoService as udpEcho } from "./services/udp-echo.js";
import { udpPingService as udpPing } from "./services/udp-ping.js";

export const LAB_SERVICES: readonly LabService[] = [udpPing, heartbeat, udpEcho, http, proxy, mail];
