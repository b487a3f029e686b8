/**
 * Bounds on a count of losses: is k drops out of n consistent with a loss probability in
 * [pLow, pHigh]? The normal approximation with a continuity margin, which is ample for the
 * n = 200 the checks use (n·p·(1-p) > 30). Pure.
 */

/** The range of drop counts accepted for n trials. `z` = 3.29 is two-sided 99.9%. */
export function binomialBounds(n: number, pLow: number, pHigh: number, z = 3.29): { low: number; high: number } {
  const low = n * pLow - z * Math.sqrt(n * pLow * (1 - pLow));
  const high = n * pHigh + z * Math.sqrt(n * pHigh * (1 - pHigh));
  return { low: Math.max(0, Math.floor(low)), high: Math.min(n, Math.ceil(high)) };
}
