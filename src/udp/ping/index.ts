/** Public surface of the UDP pinger. */
export { createUdpPingServer, UdpPingServer, type UdpPingServerOptions, type UdpPingDatagram, type UdpPingServerEvent, type UdpPingServerEvents, type UdpPingServerTotals } from "./server.js";
export { udpPing, UdpPinger, type UdpPingOptions, type UdpPingEvent, type UdpPingResult, type PingRecord, type Endpoint } from "./client.js";
export { encodePing, decodePing, upperCaseAscii, formatLocalTimestamp, MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6 } from "./protocol.js";

