/**
 * Finding the time a student's program wrote into a datagram: students send time.time(),
 * milliseconds, time.ctime() or datetime.now(), so any of those forms counts. Pure.
 */

/** The current time in a student's datagram (a heartbeat, a request): a number within 10 s of `wallMs` (in s, ms, µs or ns), or HH:MM:SS of now. */
export function timestampIn(text: string, wallMs: number): string | undefined {
  for (const m of text.matchAll(/\d+(?:\.\d+)?/g)) {
    const v = Number(m[0]);
    // Seconds, milliseconds, microseconds or nanoseconds since the epoch.
    if ([1000, 1, 1e-3, 1e-6].some((toMs) => Math.abs(v * toMs - wallMs) < 10_000)) return m[0];
  }
  for (const m of text.matchAll(/(\d{1,2}):(\d{2}):(\d{2})/g)) {
    const d = new Date(wallMs);
    const secs = (h: number, mi: number, s: number): number => h * 3600 + mi * 60 + s;
    const diff = Math.abs(secs(Number(m[1]), Number(m[2]), Number(m[3])) - secs(d.getHours(), d.getMinutes(), d.getSeconds()));
    if (diff < 10 || diff > 86_390) return m[0];
  }
  return undefined;
}
