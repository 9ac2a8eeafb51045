/**
 * The media worker: owns every RTP/RTCP socket so packet relaying never waits on the signalling
 * event loop. Started by MediaPlane; speaks the protocol in _protocol.ts.
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { parseRtcp } from "../rtp/rtcp.ts";
import {
  decodeTelephoneEvent,
  parseRtp,
  type RtpHeader,
  setRtpPayloadType,
  writeRtpHeader,
} from "../rtp/rtp.ts";
import { alawToUlaw, decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw, ulawToAlaw } from "../g711/g711.ts";
import { ToneGenerator } from "../tone/tone.ts";
import { eventToDigit } from "../dtmf/dtmf.ts";
import { Latch, type LatchOptions } from "./_latch.ts";
import type {
  AllocatedLeg,
  BridgeOptions,
  Command,
  LegConfig,
  LegStats,
  MediaEvent,
  MediaPlaneOptions,
  PayloadMap,
  PlayOptions,
  PlaySource,
  RemoteEndpoint,
  Reply,
  Request,
  TranscodeSpec,
} from "./_protocol.ts";

const port = self as unknown as {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
};

/** How one incoming payload type is carried to the other leg. */
type Route =
  | { kind: "forward"; pt: number }
  | { kind: "transcode"; pt: number; convert: (src: Uint8Array, dst: Uint8Array) => number };

interface Player {
  replyId: number;
  next: (frame: Int16Array) => boolean; // false when the source is exhausted
  encode: (pcm: Int16Array, out: Uint8Array) => number;
  pt: number;
  ssrc: number;
  seq: number;
  ts: number;
  startMs: number;
  sent: number;
  marker: boolean;
}

interface Leg {
  id: string;
  rtpPort: number;
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  remote: RemoteEndpoint | null;
  payloadMap: Map<number, string> | null; // PT -> normalised "NAME/RATE"
  latching: boolean;
  rtpLatch: Latch;
  rtcpLatch: Latch;
  peer: Leg | null;
  /** Routes for packets arriving on this leg and leaving through `peer`. */
  routes: Map<number, Route> | null;
  transcode: TranscodeSpec | undefined;
  stats: Omit<
    LegStats,
    "legId" | "rtpPort" | "rtcpPort" | "latched" | "latchedSsrc" | "remote" | "bridgedTo"
  >;
  player: Player | null;
  tap: boolean;
  lastDtmfTs: number | null;
}

let options: MediaPlaneOptions | null = null;
let latchOptions: LatchOptions = {};
const legs = new Map<string, Leg>();
const freePorts = new Set<number>(); // insertion order = FIFO: released ports go to the back
let nextLegNo = 1;
let playTimer: ReturnType<typeof setInterval> | undefined;

function post(m: Reply | MediaEvent, transfer?: Transferable[]): void {
  port.postMessage(m, transfer);
}

port.onmessage = async (e: MessageEvent<Request>) => {
  const req = e.data;
  try {
    const result = await handle(req);
    if (result === DEFERRED) return;
    post({ id: req.id, ok: true, result, activeLegs: legs.size, freePorts: freePorts.size });
  } catch (err) {
    const error = err instanceof Error
      ? { name: err.name, message: err.message }
      : { name: "Error", message: String(err) };
    post({ id: req.id, ok: false, error, activeLegs: legs.size, freePorts: freePorts.size });
  }
};

const DEFERRED = Symbol("deferred");

function handle(req: Request): Promise<unknown> | unknown {
  const cmd: Command = req;
  if (cmd.op !== "init" && options === null) throw new Error("media worker not initialised");
  switch (cmd.op) {
    case "init":
      return init(cmd.options);
    case "allocate":
      return allocate();
    case "configure":
      return configure(getLeg(cmd.legId), cmd.config);
    case "bridge":
      return bridge(getLeg(cmd.a), getLeg(cmd.b), cmd.options);
    case "unbridge":
      return unbridge(getLeg(cmd.legId));
    case "release":
      return release(getLeg(cmd.legId));
    case "stats":
      return stats(getLeg(cmd.legId));
    case "play":
      play(req.id, getLeg(cmd.legId), cmd.source, cmd.options);
      return DEFERRED;
    case "stopPlay":
      return stopPlay(getLeg(cmd.legId), "stopped");
    case "tap":
      getLeg(cmd.legId).tap = cmd.on;
      return undefined;
    case "close":
      return closeAll();
  }
}

function getLeg(id: string): Leg {
  const leg = legs.get(id);
  if (leg === undefined) throw new RangeError(`unknown media leg: "${id}"`);
  return leg;
}

function init(o: MediaPlaneOptions): { freePorts: number } {
  if (!Number.isInteger(o.portMin) || !Number.isInteger(o.portMax) || o.portMin < 1 || o.portMax > 65535) {
    throw new RangeError(`bad RTP port range: ${o.portMin}-${o.portMax}`);
  }
  const first = o.portMin + (o.portMin % 2);
  for (let p = first; p + 1 <= o.portMax; p += 2) freePorts.add(p);
  if (freePorts.size === 0) {
    throw new RangeError(`RTP port range holds no even/odd pair: ${o.portMin}-${o.portMax}`);
  }
  options = o;
  latchOptions = o.latch ?? {};
  return { freePorts: freePorts.size };
}

function bindSocket(type: "udp4" | "udp6", address: string, p: number): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type, reuseAddr: false });
    const onError = () => {
      s.close();
      resolve(null);
    };
    s.once("error", onError);
    s.bind(p, address, () => {
      s.off("error", onError);
      // Runtime socket errors (e.g. ICMP unreachable) must not take the worker down.
      s.on("error", () => {});
      resolve(s);
    });
  });
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

async function allocate(): Promise<AllocatedLeg> {
  const o = options!;
  const type = o.bind.includes(":") ? "udp6" : "udp4";
  // Try each free pair at most once; pairs that fail to bind go to the back of the pool.
  for (let tries = freePorts.size; tries > 0; tries--) {
    const p = freePorts.values().next().value as number;
    freePorts.delete(p);
    const rtp = await bindSocket(type, o.bind, p);
    const rtcp = rtp === null ? null : await bindSocket(type, o.bind, p + 1);
    if (rtp === null || rtcp === null) {
      if (rtp !== null) await closeSocket(rtp);
      freePorts.add(p);
      continue;
    }
    const leg: Leg = {
      id: `leg-${nextLegNo++}`,
      rtpPort: p,
      rtp,
      rtcp,
      remote: null,
      payloadMap: null,
      latching: true,
      rtpLatch: new Latch(latchOptions),
      rtcpLatch: new Latch(latchOptions),
      peer: null,
      routes: null,
      transcode: undefined,
      stats: {
        packetsIn: 0,
        bytesIn: 0,
        packetsOut: 0,
        bytesOut: 0,
        rtcpIn: 0,
        rtcpOut: 0,
        dropped: { invalid: 0, rejectedSource: 0, noRoute: 0, noDestination: 0 },
        lastPacketAt: null,
      },
      player: null,
      tap: false,
      lastDtmfTs: null,
    };
    rtp.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => onRtp(leg, msg, rinfo));
    rtcp.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => onRtcp(leg, msg, rinfo));
    legs.set(leg.id, leg);
    return { legId: leg.id, address: o.publicAddress ?? o.bind, rtpPort: p, rtcpPort: p + 1 };
  }
  throw new RangeError(`no free RTP port pair in ${o.portMin}-${o.portMax}`);
}

/** Normalise "pcmu/8000/1" -> "PCMU/8000"; a bare name gets no rate. */
function normEncoding(s: string): string {
  const [name = "", rate] = s.trim().split("/");
  return rate === undefined ? name.toUpperCase() : `${name.toUpperCase()}/${rate}`;
}

function toPayloadMap(m: PayloadMap): Map<number, string> {
  const out = new Map<number, string>();
  for (const [k, v] of Object.entries(m)) {
    const pt = Number(k);
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) {
      throw new RangeError(`bad payload type in payloadMap: ${k}`);
    }
    if (typeof v !== "string" || v.trim() === "") {
      throw new TypeError(`bad encoding for payload type ${k}: ${String(v)}`);
    }
    out.set(pt, normEncoding(v));
  }
  return out;
}

function configure(leg: Leg, config: LegConfig): void {
  if (config.remote !== undefined) {
    const r = config.remote;
    if (typeof r.address !== "string" || !Number.isInteger(r.port) || r.port < 0 || r.port > 65535) {
      throw new RangeError(`bad remote endpoint: ${JSON.stringify(r)}`);
    }
    const changed = leg.remote === null || leg.remote.address !== r.address || leg.remote.port !== r.port;
    leg.remote = { ...r };
    // A new SDP address (re-INVITE) means a new stream: latch afresh.
    if (changed) {
      leg.rtpLatch.reset();
      leg.rtcpLatch.reset();
    }
  }
  if (config.payloadMap !== undefined) leg.payloadMap = toPayloadMap(config.payloadMap);
  if (config.latching !== undefined) leg.latching = config.latching;
  if (leg.peer !== null) {
    leg.routes = buildRoutes(leg, leg.peer, leg.transcode);
    leg.peer.routes = buildRoutes(leg.peer, leg, leg.peer.transcode);
  }
}

const G711: Record<
  string,
  { decode: (b: Uint8Array, o: Int16Array) => number; encode: (p: Int16Array, o: Uint8Array) => number }
> = {
  "PCMU/8000": { decode: decodeUlaw, encode: encodeUlaw },
  "PCMA/8000": { decode: decodeAlaw, encode: encodeAlaw },
};

/** Transcoder lookup; the codec registry plugs in here later (decode -> resample -> encode). */
function findConverter(from: string, to: string): ((src: Uint8Array, dst: Uint8Array) => number) | null {
  const f = normEncoding(from.includes("/") ? from : `${from}/8000`);
  const t = normEncoding(to.includes("/") ? to : `${to}/8000`);
  if (f === "PCMU/8000" && t === "PCMA/8000") return ulawToAlaw;
  if (f === "PCMA/8000" && t === "PCMU/8000") return alawToUlaw;
  if (f === t && G711[f] !== undefined) return (s, d) => (d.set(s), s.length);
  return null;
}

/**
 * Build the PT routes for packets going from `src` to `dst`. Without payload maps on both legs
 * there is nothing to match on, so everything is forwarded untouched (routes = null).
 */
function buildRoutes(src: Leg, dst: Leg, transcode: TranscodeSpec | undefined): Map<number, Route> | null {
  if (src.payloadMap === null || dst.payloadMap === null) {
    if (transcode === undefined) return null;
  }
  const routes = new Map<number, Route>();
  if (src.payloadMap !== null && dst.payloadMap !== null) {
    const byEncoding = new Map<string, number>();
    for (const [pt, enc] of dst.payloadMap) if (!byEncoding.has(enc)) byEncoding.set(enc, pt);
    for (const [pt, enc] of src.payloadMap) {
      const out = byEncoding.get(enc);
      if (out !== undefined) routes.set(pt, { kind: "forward", pt: out });
    }
  }
  if (transcode !== undefined) {
    const convert = findConverter(transcode.from.codec, transcode.to.codec);
    if (convert === null) {
      throw new TypeError(
        `transcoding ${transcode.from.codec} -> ${transcode.to.codec} is not available in the media worker yet`,
      );
    }
    routes.set(transcode.from.pt, { kind: "transcode", pt: transcode.to.pt, convert });
  }
  return routes;
}

function bridge(a: Leg, b: Leg, opts: BridgeOptions): void {
  if (a === b) throw new RangeError(`cannot bridge a leg to itself: "${a.id}"`);
  // Build both directions first so a rejected transcode leaves the old bridge untouched.
  const ab = buildRoutes(a, b, opts.transcode?.aToB);
  const ba = buildRoutes(b, a, opts.transcode?.bToA);
  if (a.peer !== null && a.peer !== b) unbridge(a);
  if (b.peer !== null && b.peer !== a) unbridge(b);
  a.peer = b;
  b.peer = a;
  a.transcode = opts.transcode?.aToB;
  b.transcode = opts.transcode?.bToA;
  a.routes = ab;
  b.routes = ba;
}

function unbridge(leg: Leg): void {
  const peer = leg.peer;
  if (peer !== null) {
    peer.peer = null;
    peer.routes = null;
    peer.transcode = undefined;
  }
  leg.peer = null;
  leg.routes = null;
  leg.transcode = undefined;
}

async function release(leg: Leg): Promise<void> {
  unbridge(leg);
  stopPlay(leg, "released");
  legs.delete(leg.id);
  await Promise.all([closeSocket(leg.rtp), closeSocket(leg.rtcp)]);
  freePorts.add(leg.rtpPort);
}

function stats(leg: Leg): LegStats {
  const l = leg.rtpLatch;
  return {
    legId: leg.id,
    rtpPort: leg.rtpPort,
    rtcpPort: leg.rtpPort + 1,
    ...leg.stats,
    dropped: { ...leg.stats.dropped },
    latched: l.address === null ? null : { address: l.address, port: l.port },
    latchedSsrc: l.ssrc,
    remote: leg.remote === null ? null : { ...leg.remote },
    bridgedTo: leg.peer?.id ?? null,
  };
}

/** Where a leg sends RTP: the latched source, else the SDP address. */
function rtpDest(leg: Leg): { address: string; port: number } | null {
  if (leg.latching && leg.rtpLatch.address !== null) {
    return { address: leg.rtpLatch.address, port: leg.rtpLatch.port };
  }
  return leg.remote === null ? null : { address: leg.remote.address, port: leg.remote.port };
}

function rtcpDest(leg: Leg): { address: string; port: number } | null {
  if (leg.latching && leg.rtcpLatch.address !== null) {
    return { address: leg.rtcpLatch.address, port: leg.rtcpLatch.port };
  }
  if (leg.remote === null) return null;
  return { address: leg.remote.address, port: leg.remote.rtcpPort ?? leg.remote.port + 1 };
}

function onRtp(leg: Leg, msg: Buffer, rinfo: dgram.RemoteInfo): void {
  const st = leg.stats;
  const h = parseRtp(msg);
  if (h === null) {
    st.dropped.invalid++;
    return;
  }
  if (leg.latching) {
    const d = leg.rtpLatch.offer(rinfo.address, rinfo.port, h.ssrc, performance.now());
    if (d === "rejected") {
      st.dropped.rejectedSource++;
      return;
    }
    if (d !== "accepted") post({ event: "latched", legId: leg.id, address: rinfo.address, port: rinfo.port });
  }
  st.packetsIn++;
  st.bytesIn += msg.length;
  st.lastPacketAt = Date.now();
  const enc = leg.payloadMap?.get(h.payloadType);
  if (enc !== undefined && enc.startsWith("TELEPHONE-EVENT")) onTelephoneEvent(leg, msg, h, enc);
  if (leg.tap) tapAudio(leg, msg, h, enc);
  const peer = leg.peer;
  if (peer === null) return;
  if (peer.player !== null) return; // a prompt is playing to the peer: it owns the peer's stream
  const dest = rtpDest(peer);
  if (dest === null) {
    st.dropped.noDestination++;
    return;
  }
  let out: Uint8Array = msg;
  if (leg.routes !== null) {
    const route = leg.routes.get(h.payloadType);
    if (route === undefined) {
      st.dropped.noRoute++;
      return;
    }
    if (route.kind === "forward") {
      if (route.pt !== h.payloadType) setRtpPayloadType(msg, route.pt);
    } else {
      out = transcodePacket(msg, h, route);
    }
  }
  peer.rtp.send(out, dest.port, dest.address);
  peer.stats.packetsOut++;
  peer.stats.bytesOut += out.length;
}

function transcodePacket(
  msg: Uint8Array,
  h: RtpHeader,
  route: Extract<Route, { kind: "transcode" }>,
): Uint8Array {
  // Keep the header (minus padding) and write the converted payload after it.
  const out = new Uint8Array(h.payloadOffset + h.payloadLength * 2);
  out.set(msg.subarray(0, h.payloadOffset));
  out[0] = out[0]! & ~0x20;
  setRtpPayloadType(out, route.pt);
  const n = route.convert(
    msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength),
    out.subarray(h.payloadOffset),
  );
  return out.subarray(0, h.payloadOffset + n);
}

function onTelephoneEvent(leg: Leg, msg: Uint8Array, h: RtpHeader, enc: string): void {
  const ev = decodeTelephoneEvent(msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength));
  // Report once per event, on its first end packet (end packets are sent three times).
  if (ev === null || !ev.end || leg.lastDtmfTs === h.timestamp) return;
  leg.lastDtmfTs = h.timestamp;
  const digit = eventToDigit(ev.event);
  if (digit === undefined) return;
  const rate = Number(enc.split("/")[1] ?? 8000) || 8000;
  post({ event: "dtmf", legId: leg.id, digit, durationMs: Math.round(ev.duration * 1000 / rate) });
}

function tapAudio(leg: Leg, msg: Uint8Array, h: RtpHeader, enc: string | undefined): void {
  const name = enc ?? (h.payloadType === 0 ? "PCMU/8000" : h.payloadType === 8 ? "PCMA/8000" : undefined);
  const codec = name === undefined ? undefined : G711[name];
  if (codec === undefined) return; // other codecs: decoded via the codec registry later
  const pcm = new Int16Array(h.payloadLength);
  codec.decode(msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength), pcm);
  post({ event: "audio", legId: leg.id, pcm, sampleRate: 8000, timestamp: h.timestamp }, [pcm.buffer]);
}

function onRtcp(leg: Leg, msg: Buffer, rinfo: dgram.RemoteInfo): void {
  const pkts = parseRtcp(msg);
  if (pkts === null) {
    leg.stats.dropped.invalid++;
    return;
  }
  if (leg.latching) {
    if (leg.rtcpLatch.offer(rinfo.address, rinfo.port, pkts[0]!.ssrc, performance.now()) === "rejected") {
      leg.stats.dropped.rejectedSource++;
      return;
    }
  }
  leg.stats.rtcpIn++;
  const peer = leg.peer;
  if (peer === null) return;
  const dest = rtcpDest(peer);
  if (dest === null) {
    leg.stats.dropped.noDestination++;
    return;
  }
  peer.rtcp.send(msg, dest.port, dest.address);
  peer.stats.rtcpOut++;
}

// ---- playing audio into a leg ----

const FRAME = 160; // 20 ms at 8 kHz

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function play(replyId: number, leg: Leg, source: PlaySource, opts: PlayOptions): void {
  try {
    stopPlay(leg, "replaced");
    let pt = opts.payloadType;
    if (pt === undefined) {
      pt = 0;
      for (const [p, enc] of leg.payloadMap ?? []) {
        if (G711[enc] !== undefined) {
          pt = p;
          break;
        }
      }
    }
    const enc = leg.payloadMap?.get(pt) ?? (pt === 0 ? "PCMU/8000" : pt === 8 ? "PCMA/8000" : undefined);
    const codec = enc === undefined ? undefined : G711[enc];
    if (codec === undefined) {
      throw new TypeError(`cannot play into payload type ${pt} (${enc ?? "unknown"}): only G.711 for now`);
    }
    let next: (frame: Int16Array) => boolean;
    if (source.kind === "tone") {
      const gen = new ToneGenerator(source.spec, {
        sampleRate: 8000,
        ...(source.levelDbm0 !== undefined ? { levelDbm0: source.levelDbm0 } : {}),
      });
      let left = source.durationMs === undefined ? Infinity : Math.round(source.durationMs * 8);
      next = (frame) => {
        if (left <= 0 || gen.done) return false;
        const n = gen.generate(frame);
        left -= n;
        return n > 0;
      };
    } else {
      if (!(source.samples instanceof Int16Array)) {
        throw new TypeError("play pcm needs an Int16Array of 8 kHz samples");
      }
      const samples = source.samples;
      let off = 0;
      next = (frame) => {
        if (off >= samples.length) return false;
        const part = samples.subarray(off, off + FRAME);
        frame.set(part);
        frame.fill(0, part.length);
        off += FRAME;
        return true;
      };
    }
    leg.player = {
      replyId,
      next,
      encode: codec.encode,
      pt,
      ssrc: randomU32(),
      seq: randomU32() & 0xffff,
      ts: randomU32(),
      startMs: performance.now(),
      sent: 0,
      marker: true,
    };
    tickPlayers();
    if (playTimer === undefined && leg.player !== null) playTimer = setInterval(tickPlayers, 10);
  } catch (err) {
    const error = err instanceof Error
      ? { name: err.name, message: err.message }
      : { name: "Error", message: String(err) };
    post({ id: replyId, ok: false, error, activeLegs: legs.size, freePorts: freePorts.size });
  }
}

const pcmFrame = new Int16Array(FRAME);

function tickPlayers(): void {
  const now = performance.now();
  let active = 0;
  for (const leg of legs.values()) {
    const p = leg.player;
    if (p === null) continue;
    // Send every frame that is due by wall time (at most 5 at once after a stall) so pacing never drifts.
    let due = Math.min(5, Math.floor((now - p.startMs) / 20) + 1 - p.sent);
    while (due-- > 0 && leg.player === p) {
      if (!p.next(pcmFrame)) {
        finishPlay(leg, "done");
        break;
      }
      const buf = new Uint8Array(12 + FRAME);
      writeRtpHeader(buf, {
        payloadType: p.pt,
        sequence: p.seq,
        timestamp: p.ts,
        ssrc: p.ssrc,
        marker: p.marker,
      });
      p.encode(pcmFrame, buf.subarray(12));
      p.marker = false;
      p.seq = (p.seq + 1) & 0xffff;
      p.ts = (p.ts + FRAME) >>> 0;
      p.sent++;
      const dest = rtpDest(leg);
      if (dest === null) leg.stats.dropped.noDestination++;
      else {
        leg.rtp.send(buf, dest.port, dest.address);
        leg.stats.packetsOut++;
        leg.stats.bytesOut += buf.length;
      }
    }
    if (leg.player !== null) active++;
  }
  if (active === 0 && playTimer !== undefined) {
    clearInterval(playTimer);
    playTimer = undefined;
  }
}

function finishPlay(leg: Leg, reason: "done" | "stopped" | "replaced" | "released"): void {
  const p = leg.player;
  if (p === null) return;
  leg.player = null;
  post({
    id: p.replyId,
    ok: true,
    result: { reason, frames: p.sent },
    activeLegs: legs.size,
    freePorts: freePorts.size,
  });
}

function stopPlay(leg: Leg, reason: "stopped" | "replaced" | "released"): boolean {
  const playing = leg.player !== null;
  finishPlay(leg, reason);
  return playing;
}

async function closeAll(): Promise<void> {
  if (playTimer !== undefined) clearInterval(playTimer);
  playTimer = undefined;
  await Promise.all([...legs.values()].map((l) => release(l)));
}
