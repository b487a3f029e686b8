/**
 * Public surface of the UDP echo tool (request IDs, backoff, big datagrams and reassembly).
 * Wire-format helpers are exported under `Echo`-qualified names so they cannot clash with
 * other tools' codecs (ICMP echo, SMTP replies) in the package's flat export list.
 */
export {
  createUdpEchoServer, UdpEchoServer, resolveInterface, incompleteText,
  type UdpEchoServerOptions, type UdpEchoServerEvent, type UdpEchoServerTotals, type Endpoint as UdpEchoEndpoint,
} from "./server.js";
export { udpEcho, UdpEchoClient, type UdpEchoClientOptions, type UdpEchoClientEvent, type UdpEchoResult, type UdpEchoReply } from "./client.js";
export { requestWithBackoff, type RequestWithBackoffOptions, type RetransmitEvent, type RetransmitResult, type DatagramPort } from "./retransmit.js";
export { Backoff, backoffSchedule, type BackoffOptions } from "./backoff.js";
export { sendBig, BigSender, checkSendBig, MAX_BIG_MESSAGE, type SendBigOptions, type SendBigEvent, type SendBigResult } from "./bigsend.js";
export {
  Reassembler, formatPartRanges, MAX_MISSING_LISTED,
  type ReassemblyOptions, type ReassemblyOutcome, type IncompleteMessage, type ReassemblyTotals,
} from "./reassembly.js";
export {
  encodeRequest as encodeUdpEchoRequest,
  decodeRequest as decodeUdpEchoRequest,
  encodeReply as encodeUdpEchoReply,
  encodeTextReply as encodeUdpEchoTextReply,
  decodeReply as decodeUdpEchoReply,
  replyText as echoReplyText,
  newRequestId,
  isRequestId,
  sameRequestId,
  encodeParts as encodeUdpEchoParts,
  decodePart as decodeUdpEchoPart,
  isPart as isUdpEchoPart,
  partLength as echoPartLength,
  checkSplit as checkUdpEchoSplit,
  PART_MAGIC as ECHO_PART_MAGIC,
  PART_HEADER_BYTES as ECHO_PART_HEADER_BYTES,
  MAX_PARTS as ECHO_MAX_PARTS,
  REQUEST_ID_LENGTH,
  type EchoRequest as UdpEchoRequestFrame,
  type EchoReply as UdpEchoReplyFrame,
  type Part as UdpEchoPart,
} from "./protocol.js";
