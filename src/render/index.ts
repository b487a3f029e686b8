/** Public surface of the render layer: the ladder diagram model and its outputs, and each server's event line. */
export { renderLadder, renderLadderMermaid, renderLadderSvg, renderLadderText, ladderFormat, type Fate, type Ladder, type LadderFormat, type LadderRow, type Lifeline } from "./ladder.js";
export { formatAccessLog, renderStaticServerEvent } from "./http-server.js";
export { formatAccessLine, renderProxyServerEvent } from "./proxy.js";
export { renderMailSinkEvent } from "./mail-sink.js";
export { renderUdpPingServerEvent, renderUdpPingEvent } from "./udp-ping.js";
