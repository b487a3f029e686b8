/** Public surface of the UDP heartbeat sender and monitor. */
export { createHeartbeatMonitor, HeartbeatMonitor, type HeartbeatMonitorOptions, type HeartbeatMonitorTotals } from "./monitor.js";
export { sendHeartbeats, HeartbeatSender, type HeartbeatSenderOptions, type HeartbeatSenderEvent, type HeartbeatSenderResult, type SenderEndpoint } from "./sender.js";
export { describeHeartbeatEvent, HEARTBEAT_EVENT_KINDS, type HeartbeatEvent, type HeartbeatEventKind, type HeartbeatMonitorEvents, type ClientSnapshot } from "./events.js";
export { ReplyTracker } from "./replies.js";
export { createHeartbeatMetrics, startHeartbeatMetrics, type MetricsEndpoint, type MetricsSource } from "./metrics.js";
export { ClientTracker, SEQ_WINDOW, MAX_GAP, type ClientStatus, type TrackOutcome, type StatusChange, type RestartReason } from "./tracker.js";
export { phi, negLog10NormalTail, recordInterval, newArrivalStats, effectiveStdDev, suspectAfterMs, zForPhi, type ArrivalStats, type PhiOptions } from "./detector.js";
export {
  encodeHeartbeat,
  decodeHeartbeat,
  encodeHeartbeatReply,
  decodeHeartbeatReply,
  isValidFieldValue,
  MAX_HEARTBEAT_BYTES,
  type Heartbeat,
  type HeartbeatReply,
} from "./protocol.js";
