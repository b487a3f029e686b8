/**
 * Reading a UDP pinger client's output: which lines report a ping's fate (a reply, echoed in
 * upper case as the lab's server sends it, or "Request timed out"), the RTT each reply line
 * gives (with its unit), and the statistics block (min/avg/max RTT and the loss rate). Students
 * write these in many ways; this accepts the common ones and says what it could not find. Pure.
 */

/** One line that reports the fate of one ping. */
export interface PingLine {
  line: string;
  kind: "reply" | "timeout";
  /** The sequence number in the echoed reply ("PING 3 ..."), when there is one. */
  seq?: number;
  /** The RTT the line gives, in ms, per unit interpretation; undefined when it gives none. */
  rtt?: RttReading;
}

/** An RTT as printed: the value in ms, and whether the unit was written or guessed. */
export interface RttReading {
  /** Candidate values in ms: one when the unit is written, two (ms, s) when it is not. */
  ms: number[];
  text: string;
}

export interface PingStatistics {
  min?: number;
  avg?: number;
  max?: number;
  /** Candidates in ms as for RttReading (the unit applies to all three). */
  unitFactor: number[];
  lossPercent?: number;
  lines: string[];
}

const NUM = String.raw`(\d+(?:\.\d+)?(?:[eE]-?\d+)?)`;
const UNIT = String.raw`\s*(ms|msec|milliseconds?|s|sec|secs|seconds?)?\b`;

function factors(unit: string | undefined): number[] {
  if (unit === undefined) return [1, 1000];
  return unit.toLowerCase().startsWith("m") ? [1] : [1000];
}

/** The RTT a reply line prints: "RTT=0.42 ms", "RTT: 0.00042 s", "time=0.4ms", "0.42 ms". */
export function readRtt(line: string): RttReading | undefined {
  const labelled = new RegExp(String.raw`(?:rtt|round[- ]trip(?: time)?|time|delay)\s*(?:=|:|is)?\s*${NUM}${UNIT}`, "i").exec(line);
  const m = labelled ?? new RegExp(String.raw`${NUM}\s*(ms|msec|milliseconds?|seconds?|secs?)\b`, "i").exec(line);
  if (m === null) return undefined;
  const v = Number(m[1]);
  return { ms: factors(m[2]).map((f) => v * f), text: m[0].trim() };
}

const isStatLine = (l: string): boolean => /\b(min(imum)?|max(imum)?|av(era)?ge?|avg|mean)\b|loss|lost|statistic/i.test(l) && !/timed?\s*out/i.test(l) && !/PING \d+/.test(l);

/**
 * The lines that report a ping each, in order. `echoes` are the reply texts the server sent:
 * they are cut out before the RTT is read, so the time inside the echo is never taken for it.
 */
export function pingLines(stdout: string, echoes: readonly string[] = []): PingLine[] {
  const out: PingLine[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (/timed?\s*out/i.test(line)) out.push({ line, kind: "timeout" });
    else if (/PING \d+/.test(line) && !isStatLine(line)) {
      const seq = Number(/PING (\d+)/.exec(line)?.[1]);
      const echo = echoes.find((e) => e !== "" && line.includes(e));
      const rtt = readRtt(echo === undefined ? line.replace(/PING \d+ \S+/, "") : line.replace(echo, ""));
      out.push({ line, kind: "reply", seq, ...(rtt === undefined ? {} : { rtt }) });
    }
  }
  return out;
}

/** The statistics: "min/avg/max = 1/2/3 ms", or a keyword and a number on a line each; the loss as a percentage. */
export function readStatistics(stdout: string): PingStatistics {
  const lines = stdout.split(/\r?\n/).filter(isStatLine);
  const st: PingStatistics = { unitFactor: [1, 1000], lines };
  for (const line of lines) {
    const slash = new RegExp(String.raw`((?:min|avg|max|mdev|stddev)(?:/(?:min|avg|max|mdev|stddev))+)\D*?(${NUM.slice(1, -1)}(?:/${NUM.slice(1, -1)})+)${UNIT}`, "i").exec(line);
    if (slash !== null) {
      const names = (slash[1] ?? "").toLowerCase().split("/");
      const values = (slash[2] ?? "").split("/").map(Number);
      names.forEach((n, i) => {
        if (n === "min" || n === "avg" || n === "max") st[n] = values[i];
      });
      st.unitFactor = factors(slash.at(-1));
    } else {
      const one = (re: string): number | undefined => {
        const m = new RegExp(String.raw`${re}[^\d\n]*?${NUM}${UNIT}`, "i").exec(line);
        if (m === null) return undefined;
        if (m[2] !== undefined) st.unitFactor = factors(m[2]);
        return Number(m[1]);
      };
      st.min ??= one(String.raw`\bmin(?:imum)?\b`);
      st.max ??= one(String.raw`\bmax(?:imum)?\b`);
      st.avg ??= one(String.raw`\b(?:av(?:era)?ge?|avg|mean)\b`);
    }
    if (/loss|lost/i.test(line)) {
      const pct = new RegExp(String.raw`${NUM}\s*%`).exec(line);
      if (pct !== null) st.lossPercent = Number(pct[1]);
    }
  }
  return st;
}
