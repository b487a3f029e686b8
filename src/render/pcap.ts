/**
 * `--pcap FILE` for the UDP and TCP tools: the datagrams they sent and received, and the bytes of
 * their TCP connections, as whole IPv4/IPv6 + UDP/TCP packets (checksums included; the tools see
 * payloads, so the headers are built here; a connection gets its handshake, sequence and
 * acknowledgement numbers that add up, and its close, so Wireshark reassembles the stream), and
 * the tool's decision on each packet as its comment. Per tool, an annotator turns the tool's
 * typed events into comments on the packets they are about, with the same words as the ladder.
 */
import { isIPv4 } from "node:net";
import { PcapFile, type CapturedPacket } from "../core/pcap-file.js";
import { isWildcardAddress, type WireEndpoint, type WireTap } from "../core/udp-socket.js";
import { encodeIpPacket, encodeTcpPacket, encodeUdpPacket } from "../icmp/ip-packet.js";
import { addressBytes, TCP_FLAGS } from "../icmp/tcp-segment.js";
import { icmpv6PseudoHeaderSum, internetChecksum } from "../icmp/message/checksum.js";
import type { IcmpSocket } from "../icmp/socket.js";
import type { IcmpPingEvent, IcmpProbeSocket } from "../icmp/ping.js";
import { pingDecision } from "./ping.js";
import type { ProbeTap } from "../icmp/trace-probes.js";
import type { MtrEvent } from "../icmp/mtr.js";
import { mtrDecision } from "./mtr.js";
import { decodeIcmp, decodeIpv4Icmp, isIcmpError } from "../icmp/message/index.js";
import { tapSocket, type StreamTap } from "../core/stream-tap.js";
import type { Socket } from "node:net";
import type { H1Capture, H1ConnectionTap } from "../http/h1/server.js";
import type { HttpRequest, HttpResponse } from "../http/h1/types.js";
import { getField } from "../http/header-list.js";
import { reasonPhrase } from "../http/h1/head.js";
import { escapeText } from "../core/escape.js";
import { cacheComment, cacheDecision } from "./http-get.js";
import type { UdpPingEvent } from "../udp/ping/client.js";
import type { UdpEchoClientEvent } from "../udp/echo/client.js";
import type { UdpEchoServerEvent } from "../udp/echo/server.js";
import type { HeartbeatSenderEvent } from "../udp/heartbeat/sender.js";
import { udpPingDecision } from "./udp-ping.js";
import { MISSING_PART, sendBigDecision, udpEchoDecision } from "./udp-echo.js";
import type { SendBigEvent } from "../udp/echo/bigsend.js";
import { missingPartsOf } from "../udp/echo/reassembly.js";
import { heartbeatSenderDecision } from "./heartbeat.js";

function bare(address: string): string {
  const a = address.replace(/%.*$/, "");
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

/** Both ends in one family: a wildcard or the IPv4 side of a dual-stack socket is put in the other's family. */
function sameFamily(a: WireEndpoint, b: WireEndpoint): [WireEndpoint, WireEndpoint] {
  const x = { address: bare(a.address), port: a.port };
  const y = { address: bare(b.address), port: b.port };
  if (isIPv4(x.address) === isIPv4(y.address)) return [x, y];
  const fix = (e: WireEndpoint, v4: boolean): WireEndpoint => ({ address: v4 ? "0.0.0.0" : "::", port: e.port });
  return isWildcardAddress(y.address) ? [x, fix(y, isIPv4(x.address))] : [fix(x, isIPv4(y.address)), y];
}

/** Turns every datagram a tool sends or receives into a packet in `file`. */
export class UdpCapture implements WireTap {
  readonly file: PcapFile;
  readonly sentPackets: Array<{ packet: CapturedPacket; remote: WireEndpoint }> = [];
  lastSent: CapturedPacket | undefined;
  lastReceived: CapturedPacket | undefined;
  #id = 0;
  /** Keep `sentPackets` (clients that annotate requests later); servers do not. */
  readonly #keepSent: boolean;

  constructor(file: PcapFile, options: { keepSent?: boolean } = {}) {
    this.file = file;
    this.#keepSent = options.keepSent === true;
  }

  sent(bytes: Buffer, local: WireEndpoint, remote: WireEndpoint): void {
    const [s, d] = sameFamily(local, remote);
    this.lastSent = this.file.add(encodeUdpPacket(s, d, bytes, this.#id++));
    if (this.#keepSent) this.sentPackets.push({ packet: this.lastSent, remote });
  }

  received(bytes: Buffer, local: WireEndpoint, remote: WireEndpoint): void {
    const [s, d] = sameFamily(remote, local);
    this.lastReceived = this.file.add(encodeUdpPacket(s, d, bytes, this.#id++));
  }
}

/**
 * A pinger's comments: each request is remembered by sequence number (the last 4096), so a
 * timeout's decision lands on the request it is about; a decision on a received packet
 * (`onReceived` says which events have one) goes on the packet just captured.
 */
function seqAnnotator<E extends { kind: string; seq?: number }>(
  c: { lastSent: CapturedPacket | undefined; lastReceived: CapturedPacket | undefined },
  decide: (e: E) => string | undefined,
  onReceived: (e: E) => boolean,
): (e: E) => void {
  const bySeq = new Map<number, CapturedPacket>();
  const seqOf = (e: E): number => e.seq ?? -1;
  return (e) => {
    if (e.kind === "sent") {
      if (c.lastSent !== undefined) bySeq.set(seqOf(e), c.lastSent);
      if (bySeq.size > 4096) bySeq.delete(bySeq.keys().next().value as number);
      return;
    }
    const d = decide(e);
    if (e.kind === "timeout") PcapFile.annotate(bySeq.get(seqOf(e)), d);
    else if (d !== undefined && onReceived(e)) PcapFile.annotate(c.lastReceived, d);
  };
}

/** udp-ping: late, duplicate and ignored replies on the reply; a timeout on its ping. */
export function udpPingAnnotator(c: UdpCapture, timeoutMs: number): (e: UdpPingEvent) => void {
  return seqAnnotator(c, (e: UdpPingEvent) => udpPingDecision(e, timeoutMs), (e) => e.kind === "late" || e.kind === "duplicate" || e.kind === "foreign" || e.kind === "garbage");
}

/** heartbeat (sender): a miss on the heartbeat to that monitor; late, duplicate and ignored acks on the ack. */
export function heartbeatAnnotator(c: UdpCapture, timeoutMs: number): (e: HeartbeatSenderEvent) => void {
  const monitors: WireEndpoint[] = [];
  const bySeq = new Map<number, Array<{ packet: CapturedPacket; remote: WireEndpoint }>>();
  return (e) => {
    if (e.kind === "start") monitors[e.monitor ?? 0] = e.server;
    if (e.kind === "sent") {
      // The datagrams sent since the last "sent" event are this heartbeat, one per monitor.
      bySeq.set(e.seq, c.sentPackets.splice(0));
      if (bySeq.size > 4096) bySeq.delete(bySeq.keys().next().value as number);
      return;
    }
    const d = heartbeatSenderDecision(e, timeoutMs);
    if (e.kind === "miss") {
      const m = monitors[e.monitor ?? 0];
      PcapFile.annotate(bySeq.get(e.seq)?.find((p) => m === undefined || p.remote.port === m.port)?.packet, d);
    } else if (e.kind === "late" || e.kind === "duplicate" || e.kind === "ignored") PcapFile.annotate(c.lastReceived, d);
    else if (e.kind === "down") PcapFile.annotate(c.lastSent, `monitor declared down after ${e.misses} misses`);
  };
}

/** udp-echo (client): each retransmission and timeout on its datagram, an ignored datagram on itself. */
export function udpEchoAnnotator(c: UdpCapture): (e: UdpEchoClientEvent) => void {
  return (e) => {
    if (e.kind === "ignored") PcapFile.annotate(c.lastReceived, udpEchoDecision(e));
    else if (e.kind === "timeout") PcapFile.annotate(c.sentPackets[e.attempt - 1]?.packet, udpEchoDecision(e));
    else if (e.kind === "attempt" && e.attempt > 1) {
      // The event comes just before its datagram is sent: annotate it once it exists.
      const text = udpEchoDecision(e);
      queueMicrotask(() => PcapFile.annotate(c.sentPackets[e.attempt - 1]?.packet, text));
    }
  };
}

/**
 * udp-echo send-big: each part datagram numbered, the OS's refusal of the big one on the first
 * part sent instead, the verdict on itself and on each part it names missing, an ignored
 * datagram on itself. The file must hold packets until the verdict (`holdMs` >= the wait).
 */
export function sendBigAnnotator(c: UdpCapture): (e: SendBigEvent) => void {
  const parts = new Map<number, CapturedPacket>();
  let refused: string | undefined;
  let count = 0;
  return (e) => {
    if (e.kind === "single" && e.status === "sent") PcapFile.annotate(c.lastSent, `one datagram of ${e.bytes} bytes`);
    if (e.kind === "part") count = e.count;
    if (e.kind === "single" && e.status === "too-big") refused = `the ${e.bytes}-byte datagram was refused by the OS (EMSGSIZE, above ${e.limit} over IPv${e.family}): sent in parts instead`;
    if (e.kind === "part" && e.error === undefined && c.lastSent !== undefined) {
      parts.set(e.number, c.lastSent);
      PcapFile.annotate(c.lastSent, sendBigDecision(e));
      if (e.number === 1) PcapFile.annotate(c.lastSent, refused);
    }
    if (e.kind === "reply" || e.kind === "ignored") PcapFile.annotate(c.lastReceived, sendBigDecision(e));
    if (e.kind === "reply" && e.forParts) for (const n of missingPartsOf(e.text, count)) PcapFile.annotate(parts.get(n), MISSING_PART);
  };
}

/** udp-echo (server): the decision on an arriving datagram, for its packet comment; undefined for a plain echo. */
export function echoServerDecision(e: UdpEchoServerEvent, seed: number): string | undefined {
  switch (e.kind) {
    case "datagram":
      return e.dropped ? `dropped (simulated, seed ${seed})` : undefined;
    case "part":
      return `part ${e.number}/${e.count} of ${e.id}${e.dropped ? `, dropped (simulated, seed ${seed})` : ""}${e.note === undefined ? "" : `, ${e.note}`}`;
    case "reassembled":
      return `completes ${e.id}: ${e.bytes} bytes in ${e.parts} parts`;
    case "garbage":
      return `ignored: ${e.reason}`;
    case "incomplete":
      return undefined;
  }
}

/** The largest payload put in one synthesised TCP segment (the loopback MTU allows this much). */
const SEGMENT = 32 * 1024;

/**
 * One TCP connection as packets: the three-way handshake on `connected`, a segment per write or
 * read (split at 32 KiB), each carrying the other side's next sequence number as its ack, and
 * FIN, FIN, ACK on `closed`. Initial sequence numbers are fixed (1000 and 5000): they only have
 * to be consistent.
 */
export class TcpCapture implements StreamTap {
  readonly file: PcapFile;
  /** The segment that carried the start of the last bytes received (a decision annotates it). */
  lastReceived: CapturedPacket | undefined;
  lastSent: CapturedPacket | undefined;
  #client: WireEndpoint = { address: "0.0.0.0", port: 0 };
  #server: WireEndpoint = { address: "0.0.0.0", port: 0 };
  #cSeq = 1000;
  #sSeq = 5000;
  #id = 0;
  #open = false;

  constructor(file: PcapFile) {
    this.file = file;
  }

  connected(local: WireEndpoint, remote: WireEndpoint): void {
    [this.#client, this.#server] = sameFamily(local, remote);
    this.#cSeq = 1000;
    this.#sSeq = 5000;
    this.#open = true;
    this.#segment(true, TCP_FLAGS.SYN, 0);
    this.#cSeq++;
    this.#segment(false, TCP_FLAGS.SYN | TCP_FLAGS.ACK, this.#cSeq, new Uint8Array(0), this.#sSeq);
    this.#sSeq++;
    this.#segment(true, TCP_FLAGS.ACK, this.#sSeq);
  }

  sent(bytes: Buffer, note?: string): void {
    this.lastSent = this.#data(true, bytes);
    PcapFile.annotate(this.lastSent, note);
  }

  received(bytes: Buffer, note?: string): void {
    this.lastReceived = this.#data(false, bytes);
    PcapFile.annotate(this.lastReceived, note);
  }

  encrypted(): void {
    PcapFile.annotate(this.lastReceived, "TLS starts after this reply (STARTTLS): the encrypted rest of the session is not captured");
  }

  closed(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#segment(true, TCP_FLAGS.FIN | TCP_FLAGS.ACK, this.#sSeq);
    this.#cSeq++;
    this.#segment(false, TCP_FLAGS.FIN | TCP_FLAGS.ACK, this.#cSeq);
    this.#sSeq++;
    this.#segment(true, TCP_FLAGS.ACK, this.#sSeq);
  }

  #data(fromClient: boolean, bytes: Buffer): CapturedPacket | undefined {
    if (this.file.full) {
      // The file is at its bound: nothing more is written, only the numbers go on.
      if (fromClient) this.#cSeq += bytes.length;
      else this.#sSeq += bytes.length;
      return undefined;
    }
    let first: CapturedPacket | undefined;
    for (let off = 0; off < bytes.length; off += SEGMENT) {
      const chunk = bytes.subarray(off, off + SEGMENT);
      const p = this.#segment(fromClient, TCP_FLAGS.PSH | TCP_FLAGS.ACK, fromClient ? this.#sSeq : this.#cSeq, chunk);
      if (fromClient) this.#cSeq += chunk.length;
      else this.#sSeq += chunk.length;
      first ??= p;
    }
    return first;
  }

  #segment(fromClient: boolean, flags: number, ack: number, payload: Uint8Array = new Uint8Array(0), seq = fromClient ? this.#cSeq : this.#sSeq): CapturedPacket {
    const [src, dst] = fromClient ? [this.#client, this.#server] : [this.#server, this.#client];
    return this.file.add(encodeTcpPacket(src, dst, { seq: seq >>> 0, ack: ack >>> 0, flags, payload }, this.#id++));
  }
}

/** What a server decided about a response, for the comment on the segment that carries its head; undefined for a plain answer. */
export type ResponseDecider = (request: HttpRequest, response: HttpResponse) => string | undefined;

/**
 * A TCP server's capture (`http serve --pcap`, `proxy --pcap`): each accepted connection is its
 * own stream in the one file, a `TcpCapture` seen from the client's end (its handshake, the
 * requests it sent, the server's answers, the close), and the server's decision on each
 * response (`decide`) or the engine's own refusal (a 408, a 431) is the comment of the segment
 * that carries that response's head. A connection taken over (a CONNECT tunnel) stays captured:
 * its bytes are what crossed the wire. The connections the server opens itself (the proxy's to
 * its origins, `opened`) are streams of their own in the same file.
 */
export class TcpServerCapture implements H1Capture {
  readonly file: PcapFile;
  readonly #decide: ResponseDecider;
  /** Connections whose close is not captured yet. */
  readonly #open = new Set<TcpCapture>();

  constructor(file: PcapFile, decide: ResponseDecider) {
    this.file = file;
    this.#decide = decide;
  }

  accepted(socket: Socket): H1ConnectionTap {
    const c = new TcpCapture(this.file);
    let note: string | undefined;
    /** Set on a takeover: the new owner's first answer is described from its status line. */
    let handedOver: string | undefined;
    tapSocket(socket, {
      connected: (local, remote) => {
        c.connected(remote, local);
        this.#open.add(c);
      },
      // What the server reads, the client sent; what the server writes, the client receives.
      received: (bytes) => c.sent(bytes),
      sent: (bytes) => {
        if (handedOver !== undefined) {
          const line = /^HTTP\/1\.[01] (\d{3})[^\r\n]*/.exec(bytes.toString("latin1", 0, Math.min(bytes.length, 200)));
          note = line === null ? undefined : `${handedOver}: ${line[1] === "200" ? "tunnel open, what follows is tunnelled" : `refused, ${escapeText(line[0].slice(9), 120)}`}`;
          handedOver = undefined;
        }
        c.received(bytes, note);
        note = undefined;
      },
      closed: () => {
        this.#open.delete(c);
        c.closed();
      },
    });
    return {
      response: (request, response) => {
        note = this.#decide(request, response);
      },
      refusal: (status, reason) => {
        note = `${status} ${reason}: answered by the server itself, then closed`;
      },
      takenOver: (request) => {
        handedOver = `${escapeText(request.method, 20)} ${escapeText(request.target, 200)}`;
      },
    };
  }

  /** A connection the server opened (the proxy's to an origin): a stream of its own, seen from this end. */
  opened(socket: Socket): void {
    const c = new TcpCapture(this.file);
    tapSocket(socket, {
      connected: (local, remote) => {
        c.connected(local, remote);
        this.#open.add(c);
      },
      sent: (bytes) => c.sent(bytes),
      received: (bytes) => c.received(bytes),
      closed: () => {
        this.#open.delete(c);
        c.closed();
      },
    });
  }

  /** The server stopped: show the close of every connection still open (an idle origin connection closes after the file would). */
  finish(): void {
    for (const c of this.#open) c.closed();
    this.#open.clear();
  }
}

/**
 * What the web server decided about a response, for `--pcap`'s comment on the segment that
 * carries its head: "304 not modified (If-None-Match matched)", "206 partial content, bytes
 * 0-99/1000", "416 range not satisfiable (bytes=5000-, file is 1000 bytes)", "401 credentials
 * required"; undefined for a plain 200. Peer text is escaped.
 */
export function staticResponseDecision(request: HttpRequest, response: HttpResponse): string | undefined {
  const status = response.status;
  const req = (name: string): string | undefined => getField(request.headers, name);
  const res = (name: string): string | undefined => getField(response.headers, name);
  switch (status) {
    case 200:
      return request.method === "HEAD" ? "HEAD: the head only" : undefined;
    case 206:
      return `206 partial content, ${res("content-range") ?? "ranges"} (Range: ${escapeText(req("range") ?? "", 80)})`;
    case 304:
      return `304 not modified (${req("if-none-match") !== undefined ? "If-None-Match matched the ETag" : "not modified since If-Modified-Since"})`;
    case 412:
      return "412 precondition failed (If-Match / If-Unmodified-Since)";
    case 416: {
      const size = /\*\/(\d+)/.exec(res("content-range") ?? "")?.[1];
      return `416 range not satisfiable (Range: ${escapeText(req("range") ?? "", 80)}${size === undefined ? "" : `, the file is ${size} bytes`})`;
    }
    case 401:
      return req("authorization") === undefined ? "401 credentials required (Basic)" : "401 wrong credentials";
  }
  const location = res("location");
  if (status >= 300 && status < 400 && location !== undefined) return `${status} redirect to ${escapeText(location, 200)}`;
  return status >= 300 ? `${status} ${(response.reason ?? reasonPhrase(status)).toLowerCase()}` : undefined;
}

/**
 * What the proxy decided about a response, for `--pcap`'s comment on the segment that carries
 * its head: its Cache-Status ("HIT ttl=31", "MISS (fwd=uri-miss), stored", "REVALIDATED"...),
 * and for an answer of its own its status ("403 forbidden"); undefined for a plain answer.
 */
export function proxyResponseDecision(_request: HttpRequest, response: HttpResponse): string | undefined {
  const c = cacheDecision(getField(response.headers, "cache-status"));
  const parts: string[] = [];
  if (c !== undefined) parts.push(cacheComment(c));
  if (response.status >= 400 || (c === undefined && response.status >= 300)) parts.push(`${response.status} ${(response.reason ?? reasonPhrase(response.status)).toLowerCase()}`);
  else if (response.status === 304) parts.push("304 not modified");
  return parts.length === 0 ? undefined : parts.join("; ");
}

/**
 * ping's and traceroute's packets: each probe as sent (inside a synthesised IP header with its
 * TTL; on a ping socket with the identifier the kernel puts in, and the checksum redone to
 * match) and each packet as the socket gave it (a raw IPv4 socket gives the IP header too;
 * otherwise one is built around the ICMP message).
 */
export class IcmpCapture implements ProbeTap {
  readonly file: PcapFile;
  lastSent: CapturedPacket | undefined;
  lastReceived: CapturedPacket | undefined;
  /** This host's address toward the target, for the synthesised headers. */
  local = "0.0.0.0";
  /** The target (traceroute's probes go there). */
  target = "0.0.0.0";
  #id = 0;
  #sock: IcmpSocket | undefined;
  /** Echo identifiers and UDP/TCP source ports of our probes: a raw socket hears every ICMP packet of the host, and only those about ours are kept. */
  readonly #echoIds = new Set<number>();
  readonly #ports = new Set<number>();

  constructor(file: PcapFile) {
    this.file = file;
  }

  /** ping: `sock`, with its packets shown to the file. */
  wrap(sock: IcmpSocket, local: string): IcmpProbeSocket {
    this.local = local;
    this.listen(sock);
    return {
      family: sock.family,
      kind: sock.kind,
      echoId: sock.echoId,
      send: (bytes, address) => {
        this.#probe(bytes, sock.family === 4 ? 1 : 58, 64, address);
        return sock.send(bytes, address);
      },
      on: (event, fn) => sock.on(event, fn),
      off: (event, fn) => sock.off(event, fn),
      setTtl: (ttl) => sock.setTtl(ttl),
      setTos: (tos) => sock.setTos(tos),
      setPmtuDiscovery: (mode) => sock.setPmtuDiscovery(mode),
      close: () => sock.close(),
    };
  }

  listen(sock: IcmpSocket): void {
    const v4 = sock.family === 4;
    this.#sock ??= sock;
    sock.onRawPacket = (bytes, from, ttl) => {
      if (!this.#ours(sock.family, v4 && sock.kind === "raw", bytes)) return;
      const packet = v4 && sock.kind === "raw" ? Buffer.from(bytes) : encodeIpPacket({ src: bare(from), dst: this.local, protocol: v4 ? 1 : 58, ttl: ttl >= 0 ? ttl : 64, payload: bytes });
      this.lastReceived = this.file.add(packet);
    };
  }

  /** traceroute: a probe with its TTL. */
  sent(bytes: Buffer, protocol: number, ttl: number): void {
    this.#probe(bytes, protocol, ttl, this.target);
    PcapFile.annotate(this.lastSent, `probe TTL=${ttl}`);
  }

  answered(bytes: Buffer, from: string, protocol: number): void {
    this.lastReceived = this.file.add(encodeIpPacket({ src: bare(from), dst: this.local, protocol, payload: bytes }));
  }

  /** Whether a received packet is an echo reply to one of our probes or an error quoting one. */
  #ours(family: 4 | 6, withIp: boolean, bytes: Buffer): boolean {
    const d = withIp ? decodeIpv4Icmp(bytes) : decodeIcmp(family, bytes);
    if (!d.ok) return false;
    const m = "message" in d.value ? d.value.message : d.value;
    if (m.kind === "echo-reply") return this.#echoIds.has(m.id);
    if (!isIcmpError(m)) return false;
    const q = m.original;
    if (q.icmp !== undefined) return this.#echoIds.has(q.icmp.id);
    return q.transport !== undefined && this.#ports.has(q.transport.srcPort);
  }

  #probe(bytes: Buffer, protocol: number, ttl: number, address: string): void {
    const msg = Buffer.from(bytes);
    const icmp = protocol === 1 || protocol === 58;
    const sock = this.#sock;
    if (icmp && sock?.kind === "dgram" && sock.echoId !== undefined && msg.length >= 8) msg.writeUInt16BE(sock.echoId, 4);
    if (icmp && msg.length >= 8) this.#echoIds.add(msg.readUInt16BE(4));
    if (!icmp && msg.length >= 2) this.#ports.add(msg.readUInt16BE(0));
    if (icmp && (sock?.kind === "dgram" || protocol === 58) && msg.length >= 4) {
      msg.writeUInt16BE(0, 2);
      msg.writeUInt16BE(protocol === 1 ? internetChecksum(msg) : internetChecksum(msg, icmpv6PseudoHeaderSum(addressBytes(this.local), addressBytes(bare(address)), msg.length)), 2);
    }
    this.lastSent = this.file.add(encodeIpPacket({ src: this.local, dst: bare(address), protocol, ttl, payload: msg, id: this.#id++ }));
  }
}

/**
 * mtr: the capture behind a tap that remembers each probe's packet by cycle and TTL (cycles
 * overlap when the wait is longer than the interval), so a timeout lands on its probe and each
 * answer says which probe it settles. Bounded: a settled probe is forgotten, and at most 4096
 * are remembered.
 */
export function mtrCapture(c: IcmpCapture, waitMs: number): { tap: ProbeTap; annotate(e: MtrEvent): void } {
  let cycle = 0;
  const pending: CapturedPacket[] = [];
  const byProbe = new Map<string, CapturedPacket>();
  return {
    tap: {
      sent: (bytes, protocol, ttl) => {
        c.sent(bytes, protocol, ttl);
        if (c.lastSent !== undefined) pending.push(c.lastSent);
      },
      listen: (sock) => c.listen(sock),
      answered: (bytes, from, protocol) => c.answered(bytes, from, protocol),
    },
    annotate: (e) => {
      if (e.kind === "start") return;
      if (e.kind === "cycle") {
        // The probes of a cycle leave after its "cycle" event and before their "probe" events.
        cycle = e.cycle;
        pending.length = 0;
        return;
      }
      const key = `${e.cycle}/${e.ttl}`;
      if (e.kind === "probe") {
        const p = e.cycle === cycle ? pending.shift() : undefined;
        if (p === undefined) return;
        PcapFile.annotate(p, `cycle ${e.cycle}`);
        byProbe.set(key, p);
        if (byProbe.size > 4096) byProbe.delete(byProbe.keys().next().value as string);
        return;
      }
      const d = mtrDecision(e, waitMs);
      if (e.kind === "timeout") PcapFile.annotate(byProbe.get(key), d);
      else if (e.kind === "reply" || e.kind === "late") PcapFile.annotate(c.lastReceived, d);
      if (e.kind !== "late") byProbe.delete(key);
    },
  };
}

/** ping: the decision on a reply (late, duplicate, wrong data, an ICMP error, ignored) on it; a timeout on its request. */
export function pingAnnotator(c: IcmpCapture, timeoutMs: number): (e: IcmpPingEvent) => void {
  return seqAnnotator(c, (e: IcmpPingEvent) => pingDecision(e, timeoutMs), () => true);
}
