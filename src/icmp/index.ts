/** Public surface of ICMP ping and traceroute. */
export { IcmpPinger, canonicalAddress, MAX_ECHO_DATA, type IcmpPingOptions, type IcmpPingEvent, type IcmpPingResult, type IcmpPingRecord, type IcmpPingTotals, type IcmpProbeSocket } from "./ping.js";
export { Traceroute, type TracerouteOptions, type TracerouteEvent, type TracerouteResult, type TraceHop } from "./traceroute.js";
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
} from "./message/index.js";
