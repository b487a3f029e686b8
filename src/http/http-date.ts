/**
 * HTTP-date (RFC 9110 §5.6.7), pure: the one strict parser for every HTTP module. Recipients
 * accept the IMF-fixdate and the two obsolete forms; nothing else is a date.
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/**
 * Parse an HTTP-date (RFC 9110 §5.6.7) into ms since the epoch; undefined if invalid.
 * Exactly the IMF-fixdate and the two obsolete forms (RFC 850, asctime) are accepted: another
 * zone than GMT, a missing comma, doubled spaces, dashes in an IMF date or a one-digit hour make
 * it invalid (for Expires that means "already expired", RFC 9111 §5.3). A two-digit RFC 850 year
 * more than 50 years after `now` (the caller's clock) is taken as the past century (§5.6.7);
 * with no `now` the year pivots at 70 (70-99 is 19xx, 00-69 is 20xx), so the parser stays pure.
 *
 * @example
 * parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")  // 784111777000
 * parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT") // 784111777000
 * parseHttpDate("Sun Nov  6 08:49:37 1994")       // 784111777000
 * parseHttpDate("Sun, 06 Nov 1994 08:49:37 CET")  // undefined
 */
export function parseHttpDate(value: string | undefined, now?: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === lastFixdate.text) return lastFixdate.ms;
  let day: string, month: string, year: number, h: string, m: string, sec: string;
  let r = IMF_FIXDATE.exec(v);
  if (r !== null) {
    [, day = "", month = "", , h = "", m = "", sec = ""] = r;
    year = Number(r[3]);
    const ms = checkedUtc(year, month, day, h, m, sec);
    lastFixdate = { text: v, ms };
    return ms;
  } else if ((r = RFC850_DATE.exec(v)) !== null) {
    [, day = "", month = "", , h = "", m = "", sec = ""] = r;
    year = 1900 + Number(r[3]);
    if (now === undefined) {
      if (year < 1970) year += 100;
    } else {
      const thisYear = new Date(now).getUTCFullYear();
      while (year + 100 <= thisYear + 50) year += 100;
    }
  } else if ((r = ASCTIME_DATE.exec(v)) !== null) {
    [, month = "", day = "", h = "", m = "", sec = ""] = r;
    year = Number(r[6]);
  } else return undefined;
  return checkedUtc(year, month, day, h, m, sec);
}

/**
 * The last IMF-fixdate parsed and its result: a proxy reads the same Date (it changes once a
 * second) on every response, and this form's meaning does not depend on `now`, so the result
 * is the same whoever asks.
 */
let lastFixdate: { text: string; ms: number | undefined } = { text: "", ms: undefined };

/** The time of the parsed parts, or undefined for a date that does not exist (31 Feb, 25:00:00). */
function checkedUtc(year: number, month: string, day: string, h: string, m: string, sec: string): number | undefined {
  const d = Number(day.trim());
  const mo = MONTHS.indexOf(month);
  const t = Date.UTC(year, mo, d, Number(h), Number(m), Number(sec));
  const back = new Date(t);
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo || back.getUTCHours() !== Number(h) || back.getUTCMinutes() !== Number(m) || back.getUTCSeconds() !== Number(sec)) return undefined;
  return t;
}

/**
 * The IMF-fixdate of a time, for a header.
 *
 * @example
 * formatHttpDate(784111777000) // "Sun, 06 Nov 1994 08:49:37 GMT"
 */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
