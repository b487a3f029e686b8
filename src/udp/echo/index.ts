/** Public surface of the UDP echo tool (request IDs, backoff, big datagrams and reassembly). */
export {
  createUdpEchoServer, UdpEchoServer, resolveInterface, incompleteText,
  type UdpEchoServerOptions, type UdpEchoServerEvent, type UdpEchoServerTotals, type Endpoint as UdpEchoEndpoint,
} from "./server.js";
export { udpEcho, UdpEchoClient, type UdpEchoClientOptions, type UdpEchoClientEvent, type UdpEchoResult, type UdpEchoReply } from "./client.js";
export { requestWithBackoff, type RequestWithBackoffOptions, type RetransmitEvent, type RetransmitResult, type DatagramPort } from "./retransmit.js";
export { Backoff, backoffSchedule, jittered, type BackoffOptions } from "./backoff.js";
export { sendBig, BigSender, checkSendBig, MAX_BIG_MESSAGE, type SendBigOptions, type SendBigEvent, type SendBigResult } from "./bigsend.js";
export { Reassembler, formatPartRanges, type ReassemblyOptions, type ReassemblyOutcome, type IncompleteMessage, type ReassemblyTotals } from "./reassembly.js";
export { describeServerEvent, printableMessage } from "./server-log.js";
export {
  encodeRequest, decodeRequest, encodeReply, encodeTextReply, decodeReply, replyText, newRequestId, isRequestId, sameRequestId,
  encodeParts, decodePart, isPart, partLength, checkSplit, maxUdpPayload,
  PART_MAGIC, PART_HEADER_BYTES, MAX_PARTS, REQUEST_ID_LENGTH,
  type EchoRequest, type EchoReply, type Part,
} from "./protocol.js";
