/** The probe engine: one tracker and one driver under every pinger. */
export { ProbeTracker, type Probe, type ProbeState, type ProbeOutcome, type ProbeTrackerOptions } from "./tracker.js";
export { ProbeDriver, type ProbeDriverOptions, type ProbeTransport, type ProbeSent, type ProbeMatch, type ProbeEvent, type ProbeEndReason, type ProbeRunResult } from "./driver.js";
