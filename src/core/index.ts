/** Public surface of core/. */
export { WirekitError, isWirekitError, EXIT_STATUS, type ErrorCode, type ParseError, type Decoded } from "./errors.js";
export { systemClock, FakeClock, TimerGroup, sleep, type Clock, type TimerHandle } from "./clock.js";
export { createRandom, secureRandom, type Random } from "./random.js";
export { RttStats, lossPercent, type RttSummary, type PingTotals } from "./stats.js";
export { parseDuration, formatDuration } from "./duration.js";
export { parseSize, formatSize } from "./size.js";
export {
  ImpairmentModel, createImpairment, describeImpairment, isImpaired, resolveImpairment, flipBit,
  type ImpairmentConfig, type ImpairmentDecision, type ImpairmentCopy, type ImpairmentCounts, type DropReason,
} from "./impair.js";
export { ImpairedSender, type ImpairedSenderCounts, type ImpairedSenderOptions } from "./impaired-sender.js";
export { resolveHost, parseHostPort, parsePort, formatHostPort, isLoopback, type IpFamily, type ResolvedAddress } from "./address.js";
export { TypedEmitter, type EventMap } from "./events.js";
export * from "./probe/index.js";
export { openUdpLink, type DatagramLink, type OpenDatagramLink } from "./udp-socket.js";
