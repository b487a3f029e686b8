/**
 * Alert hooks of the heartbeat monitor: a command run for each state change of a client
 * (`--on-event`) and a webhook POSTed the same as JSON (`--webhook`).
 *
 * Neither may slow heartbeat processing: `notify()` only puts the alert in a bounded queue and
 * returns. At most `concurrency` hooks run at once; a command that outlives `timeoutMs` is killed
 * (its whole process group), a webhook call is aborted. A webhook that fails (a network error or a
 * non-2xx status) is retried with exponential backoff up to `retries` times. What does not fit in
 * the queue is dropped and counted; `totals()` reports every outcome.
 */
import { spawn } from "node:child_process";
import type { Clock } from "../../core/clock.js";
import { printableMessage, shownStatus, type ClientSnapshot, type HeartbeatEvent } from "./events.js";

/** The state changes that reach the hooks. */
export type AlertKind = "suspect" | "stopped" | "resumed" | "restarted" | "joined" | "failed" | "recovered" | "never-seen";

/** One alert: what a hook receives (as environment variables, or as the JSON body). */
export interface Alert {
  event: AlertKind;
  client: string;
  /** HOST:PORT the client last sent from ("" when unknown). */
  address: string;
  /** ISO time of the client's last heartbeat, or "" when unknown. */
  lastSeen: string;
  /** The client's status after the change: alive, suspect, stopped, failed or never-seen. */
  status: string;
  /** The line the monitor prints for the change (the client's own message in it escaped). */
  message: string;
  /** The last `status=` the client sent ("ok", "fail", an exit code), or "". */
  senderStatus: string;
  /** The last `msg=` the client sent, escaped (no control characters), or "". */
  senderMessage: string;
}

/**
 * The alert for a monitor event, or undefined for events that are not a state change (a
 * heartbeat, a loss, a duplicate ...). `client` is the client's snapshot after the event.
 */
export function alertFor(e: HeartbeatEvent, client: ClientSnapshot | undefined, message: string): Alert | undefined {
  let event: AlertKind;
  switch (e.kind) {
    case "suspect":
    case "stopped":
    case "resumed":
    case "restarted":
      event = e.kind;
      break;
    case "client-joined":
      event = "joined";
      break;
    case "failed":
    case "recovered":
    case "never-seen":
      event = e.kind;
      break;
    default:
      return undefined;
  }
  return {
    event,
    client: e.client,
    address: client?.address ?? "",
    lastSeen: client === undefined ? "" : new Date(client.lastSeen).toISOString(),
    status: client === undefined ? (e.kind === "never-seen" ? "never-seen" : "") : shownStatus(client),
    message,
    senderStatus: client?.reportedStatus ?? "",
    senderMessage: client?.reportedMessage == null ? "" : printableMessage(client.reportedMessage),
  };
}

/** The environment a command hook runs with. */
export function alertEnv(a: Alert): Record<string, string> {
  return {
    WIREKIT_EVENT: a.event,
    WIREKIT_CLIENT: a.client,
    WIREKIT_ADDRESS: a.address,
    WIREKIT_LAST_SEEN: a.lastSeen,
    WIREKIT_STATUS: a.status,
    WIREKIT_MESSAGE: a.message,
    WIREKIT_SENDER_STATUS: a.senderStatus,
    WIREKIT_SENDER_MESSAGE: a.senderMessage,
  };
}

export interface HookOptions {
  /** Run `sh -c COMMAND` for each alert. */
  command?: string;
  /** POST each alert as JSON to this http(s) URL. */
  webhook?: string;
  /** A command or one webhook attempt is stopped after this long. @default 10000 */
  timeoutMs?: number;
  /** Hooks running at once. @default 4 */
  concurrency?: number;
  /** Alerts waiting to run; more are dropped and counted. @default 1000 */
  maxQueue?: number;
  /** Webhook retries after the first attempt. @default 3 */
  retries?: number;
  /** First retry delay; each next one doubles. @default 500 */
  backoffMs?: number;
  clock: Clock;
  /** Called with one line when a hook fails (never with a secret: the URL's credentials are cut). */
  onError?: (line: string) => void;
}

export interface HookTotals {
  /** Alerts handed to the hooks. */
  alerts: number;
  /** Hook runs that succeeded (a command exiting 0, a webhook answered 2xx). */
  delivered: number;
  /** Hook runs that failed for good (after the webhook's retries). */
  failed: number;
  /** Webhook retries made. */
  retried: number;
  /** Hook runs stopped at their timeout. */
  timedOut: number;
  /** Alerts dropped because the queue was full. */
  dropped: number;
}

type Job = () => Promise<boolean>;

/**
 * The hooks of one monitor.
 *
 * @example
 * const hooks = new AlertHooks({ command: "notify-send \"$WIREKIT_MESSAGE\"", clock: systemClock });
 * hooks.notify(alert); // returns at once
 * await hooks.close(); // waits for running hooks, up to their timeout
 */
export class AlertHooks {
  readonly #o: Required<Omit<HookOptions, "command" | "webhook" | "onError">> & Pick<HookOptions, "command" | "webhook" | "onError">;
  readonly #queue: Job[] = [];
  #running = 0;
  #idle: Array<() => void> = [];
  readonly #totals: HookTotals = { alerts: 0, delivered: 0, failed: 0, retried: 0, timedOut: 0, dropped: 0 };

  constructor(options: HookOptions) {
    this.#o = { timeoutMs: 10_000, concurrency: 4, maxQueue: 1000, retries: 3, backoffMs: 500, ...options };
    if (options.webhook !== undefined) {
      const u = new URL(options.webhook);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`webhook must be an http(s) URL, not ${u.protocol}`);
    }
  }

  get enabled(): boolean {
    return this.#o.command !== undefined || this.#o.webhook !== undefined;
  }

  /** Queue `alert` for every configured hook; never waits. */
  notify(alert: Alert): void {
    if (!this.enabled) return;
    this.#totals.alerts++;
    if (this.#o.command !== undefined) this.#enqueue(() => this.#runCommand(this.#o.command ?? "", alert));
    if (this.#o.webhook !== undefined) this.#enqueue(() => this.#post(this.#o.webhook ?? "", alert));
  }

  totals(): HookTotals {
    return { ...this.#totals };
  }

  /** Resolve once nothing runs or waits (each hook is bounded by its timeout and retries). */
  async close(): Promise<HookTotals> {
    if (this.#running > 0 || this.#queue.length > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    return this.totals();
  }

  #enqueue(job: Job): void {
    if (this.#queue.length >= this.#o.maxQueue) {
      this.#totals.dropped++;
      return;
    }
    this.#queue.push(job);
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.#o.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift();
      if (job === undefined) break;
      this.#running++;
      void job()
        .then((ok) => (ok ? this.#totals.delivered++ : this.#totals.failed++))
        .finally(() => {
          this.#running--;
          this.#pump();
          if (this.#running === 0 && this.#queue.length === 0) for (const r of this.#idle.splice(0)) r();
        });
    }
  }

  #runCommand(command: string, alert: Alert): Promise<boolean> {
    return new Promise((resolve) => {
      const child = spawn("/bin/sh", ["-c", command], { env: { ...process.env, ...alertEnv(alert) }, stdio: "ignore", detached: true });
      let timedOut = false;
      const timer = this.#o.clock.setTimeout(() => {
        timedOut = true;
        this.#totals.timedOut++;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }, this.#o.timeoutMs);
      child.on("error", (err) => {
        this.#o.clock.clearTimeout(timer);
        this.#o.onError?.(`--on-event: cannot run the command: ${err.message}`);
        resolve(false);
      });
      child.on("close", (code) => {
        this.#o.clock.clearTimeout(timer);
        if (timedOut) this.#o.onError?.(`--on-event: the command for ${alert.event} ${alert.client} was killed after ${this.#o.timeoutMs} ms`);
        else if (code !== 0) this.#o.onError?.(`--on-event: the command for ${alert.event} ${alert.client} exited with ${code}`);
        resolve(!timedOut && code === 0);
      });
    });
  }

  async #post(url: string, alert: Alert): Promise<boolean> {
    const body = JSON.stringify({ event: alert.event, client: alert.client, address: alert.address, last_seen: alert.lastSeen, status: alert.status, message: alert.message, sender_status: alert.senderStatus, sender_message: alert.senderMessage });
    const where = redactUrl(url);
    for (let attempt = 0; ; attempt++) {
      let why: string;
      const ac = new AbortController();
      const timer = this.#o.clock.setTimeout(() => ac.abort(), this.#o.timeoutMs);
      try {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: ac.signal, redirect: "manual" });
        await res.body?.cancel();
        if (res.status >= 200 && res.status < 300) return true;
        why = `HTTP ${res.status}`;
      } catch (err) {
        if (ac.signal.aborted) {
          this.#totals.timedOut++;
          why = `no answer in ${this.#o.timeoutMs} ms`;
        } else why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      } finally {
        this.#o.clock.clearTimeout(timer);
      }
      if (attempt >= this.#o.retries) {
        this.#o.onError?.(`--webhook ${where}: ${alert.event} ${alert.client} not delivered after ${attempt + 1} attempts (${why})`);
        return false;
      }
      this.#totals.retried++;
      await new Promise<void>((resolve) => this.#o.clock.setTimeout(resolve, this.#o.backoffMs * 2 ** attempt));
    }
  }
}

/** A URL for messages: user and password cut. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username !== "" || u.password !== "") {
      u.username = "";
      u.password = "";
    }
    return u.toString();
  } catch {
    return "(bad url)";
  }
}
