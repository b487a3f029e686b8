/**
 * Typed events. Tools extend `TypedEmitter<Events>` so listeners are checked at compile time,
 * and publish the same events on `diagnostics_channel` as `wirekit:<tool>:<event>` for
 * observers that are not holding the object (the lab dashboard, debugging).
 */
import { EventEmitter } from "node:events";
import { channel, type Channel } from "node:diagnostics_channel";

/** Map of event name to the listener's argument tuple. */
export type EventMap = { [event: string]: unknown[] };

/** EventEmitter with typed `on`/`once`/`off`/`emit`. */
export class TypedEmitter<E extends EventMap> {
  readonly #ee = new EventEmitter();

  constructor() {
    // A tool may be observed by many listeners (CLI, dashboard, tests); do not warn at 10.
    this.#ee.setMaxListeners(0);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.#ee.emit(event, ...args);
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }
}

/**
 * The diagnostics channel `wirekit:<tool>:<event>`, made once and held for good. Hot paths keep
 * it and test `hasSubscribers` before building a message, so an unobserved event costs one
 * property read:
 *
 * @example
 * const DATAGRAM = toolChannel("udp-ping", "datagram");
 * if (DATAGRAM.hasSubscribers) DATAGRAM.publish({ bytes: msg.length });
 */
export function toolChannel(tool: string, event: string): Channel {
  let byEvent = channels.get(tool);
  if (byEvent === undefined) {
    byEvent = new Map();
    channels.set(tool, byEvent);
  }
  let ch = byEvent.get(event);
  if (ch === undefined) {
    ch = channel(`wirekit:${tool}:${event}`);
    byEvent.set(event, ch);
  }
  return ch;
}

/**
 * Publish `message` on the diagnostics channel `wirekit:<tool>:<event>`; cheap when
 * nobody subscribes.
 */
export function publish(tool: string, event: string, message: unknown): void {
  const ch = toolChannel(tool, event);
  if (ch.hasSubscribers) ch.publish(message);
}

/**
 * Channels by tool, then event, looked up without building their names: `channel()` is a map
 * lookup plus a WeakRef per call, and diagnostics_channel holds a channel without subscribers
 * only weakly, so asking it each time can build a new channel object per datagram.
 */
const channels = new Map<string, Map<string, Channel>>();
