/**
 * wirekit — the classic socket-programming labs as a typed library.
 * Each tool's public functions, classes and types are re-exported here.
 */
export * from "./core/index.js";
export * from "./udp/ping/index.js";
export * from "./icmp/index.js";
export * from "./udp/echo/index.js";
export * from "./http/index.js";
export * from "./udp/heartbeat/index.js";
export { startLab, Lab, type LabOptions, type LabServiceState, type LabRunEvent } from "./lab/lab.js";
export type { LabService, RunningService } from "./lab/service.js";
export * from "./lab/index.js";
export * from "./smtp/index.js";
export * from "./http/proxy/index.js";
export { renderDiagramSvg, renderDiagramMermaid, smtpLadder, type DiagramOptions as SmtpDiagramOptions } from "./render/smtp.js";
export * from "./render/index.js";
export { describeHeartbeatEvent } from "./render/heartbeat-events.js";
export { describeServerEvent as describeUdpEchoServerEvent } from "./render/udp-echo-server.js";
