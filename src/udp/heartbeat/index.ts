/** Public surface of the UDP heartbeat sender and monitor. */
export { createHeartbeatMonitor, HeartbeatMonitor, type HeartbeatMonitorOptions, type HeartbeatMonitorTotals, type MonitorState } from "./monitor.js";
export { loadMonitorState, MonitorStateSaver, writeFileAtomic } from "./state-file.js";
export { parseKeyFile, parseExpectFile } from "./lists.js";
export { sendHeartbeats, HeartbeatSender, type HeartbeatSenderOptions, type HeartbeatSenderEvent, type HeartbeatSenderResult, type SenderEndpoint } from "./sender.js";
export { printableMessage, shownStatus, type RefusalReason, HEARTBEAT_EVENT_KINDS, type HeartbeatEvent, type HeartbeatEventKind, type HeartbeatMonitorEvents, type ClientSnapshot } from "./events.js";
export { createHeartbeatMetrics, type MetricsSource } from "./metrics.js";
export { startHeartbeatMetrics, type MetricsEndpoint } from "./metrics-endpoint.js";
export { ClientTracker, SEQ_WINDOW, MAX_GAP, type TrackerState, type ClientStatus, type TrackOutcome, type StatusChange, type RestartReason } from "./tracker.js";
export { phi, negLog10NormalTail, recordInterval, newArrivalStats, effectiveStdDev, suspectAfterMs, zForPhi, type ArrivalStats, type PhiOptions } from "./detector.js";
export {
  encodeHeartbeat,
  decodeHeartbeat,
  encodeHeartbeatReply,
  decodeHeartbeatReply,
  isValidFieldValue,
  isValidStatus,
  isFailureStatus,
  encodeMessage,
  decodeMessage,
  signedText,
  verifyHeartbeatMac,
  MAX_HEARTBEAT_BYTES,
  MAX_MESSAGE_WIRE_BYTES,
  SIGNED_FIELDS,
  MAC_CONTEXT,
  type Heartbeat,
  type HeartbeatReply,
} from "./protocol.js";
