/**
 * Sub-millisecond wall-clock time for heartbeat timestamps and delays. The system clock (Date.now) truncates to
 * whole milliseconds, which on loopback is ten times the delay being measured; so time is
 * anchored once and advanced with the monotonic clock.
 */
import { systemClock, type Clock } from "../../core/clock.js";

/**
 * The wall-clock ms that corresponds to monotonic time `mono`. With the system clock this is
 * `performance.timeOrigin + mono` (microsecond resolution); with any other clock (a FakeClock
 * in tests) it is simply `clock.now()`.
 *
 * @example
 * const mono = clock.monotonic();
 * const anchor = preciseWallAnchor(clock, mono);
 * const wallLater = anchor + (clock.monotonic() - mono);
 */
export function preciseWallAnchor(clock: Clock, mono: number): number {
  if (clock !== systemClock) return clock.now();
  const precise = performance.timeOrigin + mono;
  // timeOrigin can drift from the system clock in a long-lived process (NTP); trust the system clock
  // when they disagree by more than its own resolution.
  const coarse = clock.now();
  return Math.abs(precise - coarse) <= 2 ? precise : coarse + 0.5;
}
