/** Public surface of ICMP ping, traceroute (ICMP / UDP / TCP probes, Paris) and mtr. */
export { IcmpPinger, canonicalAddress, MAX_ECHO_DATA, type IcmpPingOptions, type IcmpPingEvent, type IcmpPingResult, type IcmpPingRecord, type IcmpPingTotals, type IcmpProbeSocket } from "./ping.js";
export { Traceroute, type TracerouteOptions, type TracerouteEvent, type TracerouteResult, type TraceHop } from "./traceroute.js";
export { Mtr, type MtrOptions, type MtrEvent, type MtrResult } from "./mtr.js";
export { PathStats, type HopRow } from "./mtr-stats.js";
export { openProber, UDP_BASE_PORT, type TraceMethod, type TraceProber, type ProberOptions, type ProbeFlow as TraceProbeFlow, type ProbeReply as TraceProbeReply, type ProbeSent as TraceProbeSent } from "./trace-probes.js";
export { TCP_DEFAULT_PORT } from "./trace-tcp.js";
export { IcmpSocket, loadIcmpAddon, NO_PERMISSION_MESSAGE, type IcmpSocketKind, type IcmpReceived, type OpenIcmpSocketOptions, type PmtuMode } from "./socket.js";
export { matchEcho, type EchoMatch, type EchoMatchContext } from "./match.js";
export {
  decodeIcmp,
  decodeIpv4Icmp,
  decodeQueuedError,
  encodeEchoRequest,
  internetChecksum,
  icmpTypeName,
  type IcmpMessage,
  type IcmpErrorMessage,
  type IcmpFamily,
  type EchoMessage,
  type DestUnreachable,
  type TimeExceeded,
  type ParamProblem,
  type Redirect,
  type SourceQuench,
  type PacketTooBig,
  type QuotedDatagram,
  type QuotedTransport,
} from "./message/index.js";
