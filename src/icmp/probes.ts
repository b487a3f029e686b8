/**
 * The RTT of an ICMP probe from kernel timestamps, shared by ping and traceroute. The probe
 * bookkeeping itself (pending / reply / late / duplicate / timeout) is core/probe's tracker.
 */

/**
 * RTT in ms: kernel receive timestamp − send time (as iputils), or the monotonic difference when
 * there is no timestamp or CLOCK_REALTIME stepped backwards in between.
 *
 * @example
 * rttMs(1_000_000n, 1_041_000n, 5, 5.2) // 0.041
 */
export function rttMs(txNs: bigint, rxNs: bigint, sentMono: number, nowMono: number): number {
  if (rxNs > 0n && txNs > 0n && rxNs >= txNs) return Number(rxNs - txNs) / 1e6;
  return Math.max(0, nowMono - sentMono);
}
