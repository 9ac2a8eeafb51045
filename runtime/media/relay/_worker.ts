/**
 * The media worker: owns every RTP/RTCP socket so packet relaying never waits on the signalling
 * event loop. Started by MediaPlane; speaks the protocol in _protocol.ts.
 */
import {
  bindRelaySocket,
  commandArrived,
  commandWakeFd,
  mediaInterval,
  type RelayRemote,
  type RelaySocket,
  setPollMode,
} from "./_udp.ts";
import type { PollTimer } from "../../../drivers/udp/mod.ts";
import { parseRtcp } from "../rtp/rtcp.ts";
import {
  decodeTelephoneEvent,
  encodeTelephoneEvent,
  newRtpHeaderInfo,
  parseRtp,
  readRtpHeaderInto,
  type RtpHeaderInfo,
  setRtpPayloadType,
  writeRtpHeader,
} from "../rtp/rtp.ts";
import { alawToUlaw, decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw, ulawToAlaw } from "../g711/g711.ts";
import { ToneGenerator } from "../tone/tone.ts";
import { readWav, WavWriter } from "../wav/wav.ts";
import { OggOpusWriter } from "../ogg/mod.ts";
import { Mixer } from "../mix/mixer.ts";
import { digitToEvent, DtmfDetector, eventToDigit, generateDtmf } from "../dtmf/dtmf.ts";
import { JitterBuffer, type JitterPacket } from "../jitter/jitter.ts";
import {
  type AudioCodec,
  type CodecFactory,
  defaultRegistry,
  frameSamples,
  Resampler,
} from "../codec/mod.ts";
import { Latch, type LatchOptions } from "./_latch.ts";
import { isSrtpSuite, SrtpSession, srtpStatusName } from "../../../drivers/srtp/mod.ts";
import { DtlsCertificate, DtlsEndpoint } from "../../../drivers/dtls/mod.ts";
import { bindingSuccess, checkBindingRequest } from "./_stun.ts";
import type {
  AllocatedLeg,
  BridgeOptions,
  CodecInfo,
  CodecRef,
  Command,
  DtlsLegConfig,
  DtmfDelivery,
  LegConfig,
  LegStats,
  MediaEvent,
  MediaPlaneOptions,
  MediaResources,
  MixOptions,
  PayloadMap,
  PlayOptions,
  PlaySource,
  RemoteEndpoint,
  Reply,
  Request,
  SrtpLegConfig,
  TranscodeSpec,
} from "./_protocol.ts";

const port = self as unknown as {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
};

/** How one incoming payload type is carried to the other leg. */
type Route =
  | { kind: "forward"; pt: number }
  | { kind: "transcode"; pt: number; convert: (src: Uint8Array, dst: Uint8Array) => number }
  | { kind: "jitter"; dir: Direction };

/**
 * One transcoded direction: packets from `src` wait in a jitter buffer; every `frameMs` of the
 * worker's monotonic clock one frame is popped (or concealed), decoded, resampled and encoded
 * toward `dst`, so network jitter never reaches the far side.
 */
interface Direction {
  src: Leg;
  dst: Leg;
  spec: TranscodeSpec;
  dec: AudioCodec;
  enc: AudioCodec;
  jb: JitterBuffer;
  frameMs: number;
  lastTs: number | null;
  lastSeq: number | null;
  resampler: Resampler;
  decoded: Int16Array;
  resampled: Int16Array;
  fifo: Int16Array;
  fifoLen: number;
  outFrame: number;
  outTicks: number;
  nextDue: number;
  detector: DtmfDetector | null;
}

/** The box's own RTP stream toward a leg (transcoded audio, generated events). */
interface OutStream {
  ssrc: number;
  seq: number;
  ts: number;
  marker: boolean;
}

/** A digit queued for delivery toward a leg. */
interface DtmfItem {
  digit: string;
  durationMs: number;
  mode: "rfc4733" | "inband";
  /** rfc4733: joins the forwarded stream (its SSRC/sequence/timestamps) instead of the box's own. */
  inFwd?: boolean;
  /** rfc4733: the event's clock rate and payload type, fixed when it starts. */
  rate?: number;
  pt?: number;
  // rfc4733 progress
  startMs?: number;
  ts?: number;
  sentSteps?: number;
  ends?: number;
}

interface Player {
  replyId: number;
  /** Fill `n` samples of the next frame; false when the source is exhausted. */
  next: (frame: Int16Array, n: number) => boolean;
  encoder: LegEncoder;
  frameMs: number;
  frameSamples: number;
  /** RTP ticks per frame. */
  ticks: number;
  pt: number;
  startMs: number;
  sent: number;
  marker: boolean;
}

/** A leg's SRTP state: one libsrtp session per direction (see configureSrtp). */
interface LegSrtp {
  suite: string;
  /** Protects what the box sends to the leg. */
  out: SrtpSession;
  /** Unprotects what the leg sends. */
  in: SrtpSession;
  /** Copies of the keys, to tell a re-keying from a repeated configuration (never logged). */
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  replayWindow: number | undefined;
  /** Packets that failed to unprotect. */
  failures: number;
}

/** A leg's DTLS-SRTP association and ICE-lite state (see configureDtls). */
interface LegDtls {
  config: DtlsLegConfig;
  ep: DtlsEndpoint;
  /** Keys taken from the finished handshake (or it failed): later DTLS records are only answered. */
  done: boolean;
  /** performance.now() of the last valid STUN check (consent), or of the configuration. */
  consentAt: number;
  /** Where the handshake's flights go: the address DTLS last came from, else the leg's remote. */
  to?: { address: string; port: number };
  /** The retransmission check (RFC 6347 4.2.4) while a flight of ours awaits its reply. */
  timer?: PollTimer | undefined;
}

interface Leg {
  id: string;
  rtpPort: number;
  /** Where RTP to this leg goes out: the socket itself, or an SRTP-protecting wrapper of it. */
  rtp: RelaySocket;
  rtcp: RelaySocket;
  /** The bound sockets (rtp/rtcp wrap them while SRTP is on). */
  rtpSocket: RelaySocket;
  rtcpSocket: RelaySocket;
  srtp: LegSrtp | null;
  dtls: LegDtls | null;
  remote: RemoteEndpoint | null;
  payloadMap: Map<number, string> | null; // PT -> normalised "NAME/RATE"
  latching: boolean;
  rtpLatch: Latch;
  rtcpLatch: Latch;
  peer: Leg | null;
  /** Routes for packets arriving on this leg and leaving through `peer`. */
  routes: Map<number, Route> | null;
  transcode: TranscodeSpec | undefined;
  stats:
    & Omit<
      LegStats,
      | "legId"
      | "rtpPort"
      | "rtcpPort"
      | "latched"
      | "latchedSsrc"
      | "remote"
      | "bridgedTo"
      | "lastPacketAt"
      | "srtp"
    >
    & {
      /** Epoch ms of the last RTP packet, 0 = none (a number field: written per packet, never boxed). */
      lastPacketAt: number;
    };
  player: Player | null;
  tap: boolean;
  /** Decoder state of the tap, created on the first tapped packet. */
  tapState: TapState | null;
  /** A payload type the tap could not decode (no codec): not retried per packet. */
  tapUnsupported: number | null;
  lastDtmfTs: number | null;
  ptime: number;
  detectInband: boolean | undefined;
  /** Whether the bridged peer's RFC 4733 digits become tones in this leg's audio (default true). */
  injectDtmf: boolean;
  /** In-band detector for G.711 packets passed through (8 kHz). */
  detector8k: DtmfDetector | null;
  /** This leg's codec instance while a transcoding bridge uses it (decodes what it receives, encodes what it gets). */
  codec: AudioCodec | null;
  /** The transcoded direction whose source is this leg. */
  dirIn: Direction | null;
  out: OutStream;
  /**
   * The stream the box forwards to this leg from its bridge partner (relay path), so events the box
   * generates join it (RFC 4733 section 2.5): FWD_SSRC, FWD_SEQ (last sequence sent), FWD_TS, FWD_AT
   * (performance.now() of it, 0 = none yet), FWD_DELTA (added to forwarded sequence numbers after
   * the box inserted packets). A Float64Array: written per packet without boxing numbers.
   */
  fwd: Float64Array;
  dtmfQueue: DtmfItem[];
  /** Recorders and mixes fed with the decoded audio this leg receives (see Feed). */
  feeds: Feed[];
  /** The mix this leg is in, null when none. */
  mix: MixBridge | null;
  /** The recording of this leg, null when none. */
  recorder: Recorder | null;
  /** Tone being written into the audio sent to this leg, at `rate`. */
  tone: { pcm: Int16Array; off: number; rate: number } | null;
  /**
   * performance.now() of the last sign of life: an RTP or RTCP packet accepted, or a command that
   * (re)starts the stream (configure, bridge, tap). The inactivity watch measures from here.
   */
  heardAt: number;
  /** heardAt when "inactive" was last reported for this leg (reported again one timeout later). */
  reportedAt: number;
}

let options: MediaPlaneOptions | null = null;
let latchOptions: LatchOptions = {};
const legs = new Map<string, Leg>();
const freePorts = new Set<number>(); // insertion order = FIFO: released ports go to the back
let nextLegNo = 1;
// Media clocks run from the poll loop in "sync" mode (see _udp.ts mediaInterval).
let playTimer: PollTimer | undefined;
let mediaTimer: PollTimer | undefined;
const registry = defaultRegistry();
const directions = new Set<Direction>();
let liveCodecs = 0;
let liveResamplers = 0;

function post(m: Reply | MediaEvent, transfer?: Transferable[]): void {
  port.postMessage(m, transfer);
}

port.onmessage = (e: MessageEvent<Request>) => {
  // A "sync" poll loop waits for this to finish before it blocks in epoll_wait again.
  commandArrived(serve(e.data), e.data.woken === true);
};

async function serve(req: Request): Promise<void> {
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
}

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
      // Awaited (the file read) so a "sync" poll loop keeps turning until the player runs.
      return play(req.id, getLeg(cmd.legId), cmd.source, cmd.options).then(() => DEFERRED);
    case "stopPlay":
      return stopPlay(getLeg(cmd.legId), "stopped");
    case "tap":
      setTap(getLeg(cmd.legId), cmd.on);
      return undefined;
    case "dtmf":
      return sendDtmf(getLeg(cmd.legId), cmd.digit, cmd.durationMs);
    case "record":
      return startRecord(getLeg(cmd.legId), cmd.path, cmd.options ?? {});
    case "stopRecord":
      return getLeg(cmd.legId).recorder === null ? null : stopRecord(getLeg(cmd.legId), "stopped");
    case "mix":
      return makeMix(cmd.mixId, cmd.legIds.map(getLeg), cmd.options ?? {});
    case "addToMix": {
      const leg = getLeg(cmd.legId);
      if (cmd.create !== undefined && !mixes.has(cmd.mixId)) {
        makeMix(cmd.mixId, [leg], cmd.create);
        return true;
      }
      return addToMix(getMix(cmd.mixId), leg);
    }
    case "muteInMix": {
      const m = getMix(cmd.mixId);
      const p = m.parts.get(getLeg(cmd.legId));
      if (p === undefined) throw new RangeError(`leg "${cmd.legId}" is not in mix "${cmd.mixId}"`);
      p.muted = cmd.muted === true;
      return p.muted;
    }
    case "hearInMix": {
      const m = getMix(cmd.mixId);
      const p = m.parts.get(getLeg(cmd.legId));
      if (p === undefined) throw new RangeError(`leg "${cmd.legId}" is not in mix "${cmd.mixId}"`);
      if (
        cmd.hears !== null && (!Array.isArray(cmd.hears) || !cmd.hears.every((h) => typeof h === "string"))
      ) {
        throw new TypeError("hears must be a list of leg ids or null");
      }
      p.hears = cmd.hears === null ? null : new Set(cmd.hears);
      return true;
    }
    case "removeFromMix": {
      const m = getMix(cmd.mixId);
      const leg = getLeg(cmd.legId);
      if (leg.mix !== m) return false;
      removeFromMix(m, leg);
      return true;
    }
    case "endMix":
      return endMix(getMix(cmd.mixId));
    case "resources":
      return resources();
    case "dtlsIdentity":
      return dtlsIdentity(cmd.certPem, cmd.keyPem);
    case "close":
      return closeAll();
  }
}

function getLeg(id: string): Leg {
  const leg = legs.get(id);
  if (leg === undefined) throw new RangeError(`unknown media leg: "${id}"`);
  return leg;
}

function init(o: MediaPlaneOptions): { freePorts: number; codecs: CodecInfo[]; wakeFd: number | null } {
  if (!Number.isInteger(o.portMin) || !Number.isInteger(o.portMax) || o.portMin < 1 || o.portMax > 65535) {
    throw new RangeError(`bad RTP port range: ${o.portMin}-${o.portMax}`);
  }
  const first = o.portMin + (o.portMin % 2);
  for (let p = first; p + 1 <= o.portMax; p += 2) freePorts.add(p);
  if (freePorts.size === 0) {
    throw new RangeError(`RTP port range holds no even/odd pair: ${o.portMin}-${o.portMax}`);
  }
  if (o.poll !== undefined) {
    if (o.poll !== "sync" && o.poll !== "thread" && o.poll !== "paced") {
      throw new RangeError(`bad media poll mode: ${String(o.poll)}`);
    }
    setPollMode(o.poll);
  }
  options = o;
  latchOptions = o.latch ?? {};
  if (o.rtpTimeoutMs !== undefined && o.rtpTimeoutMs !== 0) {
    if (!Number.isInteger(o.rtpTimeoutMs) || o.rtpTimeoutMs < 100) {
      throw new RangeError(`bad RTP timeout: ${o.rtpTimeoutMs} ms (0 = off, else at least 100)`);
    }
    startInactivityWatch(o.rtpTimeoutMs);
  }
  const codecs = registry.available().map((f) => {
    const c: CodecInfo = { name: f.name, clockRate: f.rtpClockRate, channels: f.channels };
    if (f.staticPayloadType !== undefined) c.staticPayloadType = f.staticPayloadType;
    if (f.fmtp !== undefined) c.fmtp = f.fmtp;
    return c;
  });
  // "sync" mode: the main thread signals this eventfd after each postMessage (see MediaPlane).
  return { freePorts: freePorts.size, codecs, wakeFd: commandWakeFd() };
}

// Native batched UDP or node:dgram, see _udp.ts (PBX_MEDIA_IO); udp6 goes through dgram there.
function bindSocket(_type: "udp4" | "udp6", address: string, p: number): Promise<RelaySocket | null> {
  return bindRelaySocket(p, address).catch(() => null);
}

function closeSocket(s: RelaySocket): Promise<void> {
  return s.close();
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
      rtpSocket: rtp,
      rtcpSocket: rtcp,
      srtp: null,
      dtls: null,
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
        dropped: { invalid: 0, rejectedSource: 0, noRoute: 0, noDestination: 0, srtp: 0 },
        lastPacketAt: 0,
      },
      player: null,
      tap: false,
      tapState: null,
      tapUnsupported: null,
      lastDtmfTs: null,
      ptime: 20,
      detectInband: undefined,
      injectDtmf: true,
      detector8k: null,
      codec: null,
      dirIn: null,
      out: { ssrc: randomU32(), seq: randomU32() & 0xffff, ts: randomU32(), marker: true },
      fwd: new Float64Array(5),
      dtmfQueue: [],
      feeds: [],
      mix: null,
      recorder: null,
      tone: null,
      heardAt: performance.now(),
      reportedAt: -1,
    };
    rtp.onMessage((msg, rinfo) => onRtp(leg, msg, rinfo));
    rtcp.onMessage((msg, rinfo) => onRtcp(leg, msg, rinfo));
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

/**
 * Payload maps are read-only once built and most legs carry the same few: one shared Map per
 * distinct map (keyed by its canonical text) instead of one per leg. Bounded: cleared when full.
 */
const payloadMaps = new Map<string, Map<number, string>>();

function toPayloadMap(m: PayloadMap): Map<number, string> {
  const built = buildPayloadMap(m);
  const key = [...built].sort((x, y) => x[0] - y[0]).map(([pt, enc]) => `${pt}=${enc}`).join(",");
  const shared = payloadMaps.get(key);
  if (shared !== undefined) return shared;
  if (payloadMaps.size >= 256) payloadMaps.clear();
  payloadMaps.set(key, built);
  return built;
}

function buildPayloadMap(m: PayloadMap): Map<number, string> {
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
  leg.heardAt = performance.now();
  if (config.remote !== undefined) {
    const r = config.remote;
    if (typeof r.address !== "string" || !Number.isInteger(r.port) || r.port < 0 || r.port > 65535) {
      throw new RangeError(`bad remote endpoint: ${JSON.stringify(r)}`);
    }
    const changed = leg.remote === null || leg.remote.address !== r.address || leg.remote.port !== r.port;
    leg.remote = { ...r };
    // A new SDP address (re-INVITE) means a new stream: latch afresh (a relatch window).
    if (changed || config.relatch === true) resetLatches(leg);
  } else if (config.relatch === true) resetLatches(leg);
  if (config.strictSource !== undefined) {
    leg.rtpLatch.strict = config.strictSource;
    leg.rtcpLatch.strict = config.strictSource;
  }
  if (config.ptime !== undefined) {
    if (!Number.isInteger(config.ptime) || config.ptime < 10 || config.ptime > 120) {
      throw new RangeError(`bad ptime: ${config.ptime}`);
    }
    leg.ptime = config.ptime;
  }
  if (config.dtls !== undefined) configureDtls(leg, config.dtls);
  if (config.srtp !== undefined) configureSrtp(leg, config.srtp);
  if (config.payloadMap !== undefined) leg.payloadMap = toPayloadMap(config.payloadMap);
  if (config.latching !== undefined) leg.latching = config.latching;
  if (config.detectInband !== undefined) leg.detectInband = config.detectInband;
  if (config.injectDtmf !== undefined) leg.injectDtmf = config.injectDtmf;
  leg.detector8k = wantsInband(leg) ? (leg.detector8k ?? new DtmfDetector()) : null;
  if (leg.peer !== null) {
    leg.routes = buildRoutes(leg, leg.peer, leg.transcode, leg.dirIn);
    leg.peer.routes = buildRoutes(leg.peer, leg, leg.peer.transcode, leg.peer.dirIn);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * Turn SRTP on, re-key or off for a leg. A direction whose suite and key are unchanged keeps its
 * libsrtp session (and so its rollover counter and replay window); the other is created afresh.
 * Sessions are created before anything is replaced, so a bad key leaves the leg as it was.
 */
function configureSrtp(leg: Leg, c: SrtpLegConfig | null): void {
  const old = leg.srtp;
  if (c === null) {
    if (old === null) return;
    leg.srtp = null;
    // A DTLS-SRTP leg without keys sends nothing (never plain); a plain leg gets its sockets back.
    leg.rtp = leg.dtls !== null ? withheldSocket(leg.rtpSocket) : leg.rtpSocket;
    leg.rtcp = leg.dtls !== null ? withheldSocket(leg.rtcpSocket) : leg.rtcpSocket;
    closeSrtp(old);
    return;
  }
  if (!isSrtpSuite(c.suite)) throw new RangeError(`SRTP suite ${String(c.suite)} not supported`);
  if (!(c.sendKey instanceof Uint8Array) || !(c.recvKey instanceof Uint8Array)) {
    throw new TypeError("SRTP keys must be Uint8Arrays");
  }
  const same = old !== null && old.suite === c.suite && old.replayWindow === c.replayWindow;
  const keepOut = same && sameBytes(old.sendKey, c.sendKey);
  const keepIn = same && sameBytes(old.recvKey, c.recvKey);
  if (keepOut && keepIn) return;
  const w = c.replayWindow !== undefined ? { replayWindow: c.replayWindow } : {};
  const out = keepOut ? old.out : new SrtpSession("outbound", { suite: c.suite, keySalt: c.sendKey, ...w });
  let inbound: SrtpSession;
  try {
    inbound = keepIn ? old.in : new SrtpSession("inbound", { suite: c.suite, keySalt: c.recvKey, ...w });
  } catch (e) {
    if (!keepOut) out.close();
    throw e;
  }
  if (old !== null) {
    if (!keepOut) old.out.close();
    if (!keepIn) old.in.close();
    old.sendKey.fill(0);
    old.recvKey.fill(0);
  }
  leg.srtp = {
    suite: c.suite,
    out,
    in: inbound,
    sendKey: c.sendKey.slice(),
    recvKey: c.recvKey.slice(),
    replayWindow: c.replayWindow,
    failures: old?.failures ?? 0,
  };
  // Structured clones of the keys arrived with the command: nothing else keeps them.
  c.sendKey.fill(0);
  c.recvKey.fill(0);
  if (old === null) {
    leg.rtp = protectingSocket(leg.rtpSocket, leg, false);
    // rtcp-mux: RTCP leaves from the RTP port too (the peer's ICE pair is that port).
    leg.rtcp = protectingSocket(
      leg.dtls?.config.rtcpMux === true ? leg.rtpSocket : leg.rtcpSocket,
      leg,
      true,
    );
  }
}

function closeSrtp(s: LegSrtp): void {
  s.out.close();
  s.in.close();
  s.sendKey.fill(0);
  s.recvKey.fill(0);
}

/** The box's DTLS certificate (dtlsIdentity command), made on first use when none was given. */
let dtlsCert: DtlsCertificate | null = null;

function dtlsIdentity(certPem?: string, keyPem?: string): { fingerprint: string } {
  const next = certPem !== undefined && keyPem !== undefined
    ? DtlsCertificate.fromPem(certPem, keyPem)
    : DtlsCertificate.generate({ commonName: "pbx" });
  dtlsCert?.close();
  dtlsCert = next;
  return { fingerprint: next.fingerprint };
}

const CONSENT_MS = 30_000;

/**
 * DTLS-SRTP on a leg: a DTLS endpoint in `role` over the leg's RTP port (RFC 5764 demultiplexing
 * in onRtp), keyed into SRTP when the handshake ends and the peer's certificate matches the
 * fingerprint its SDP gave. A client starts its handshake toward the SDP address at once.
 */
function configureDtls(leg: Leg, c: DtlsLegConfig | null): void {
  const old = leg.dtls;
  if (c === null) {
    if (old !== null) closeDtls(old);
    leg.dtls = null;
    if (old !== null && leg.srtp === null) {
      leg.rtp = leg.rtpSocket; // back to plain RTP (the side's new offer had no DTLS)
      leg.rtcp = leg.rtcpSocket;
    }
    return;
  }
  if (
    typeof c.peerFingerprint !== "string" || !/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/.test(c.peerFingerprint)
  ) {
    throw new RangeError("DTLS peer fingerprint must be a SHA-256 fingerprint (32 hex pairs)");
  }
  if (
    old !== null && old.config.role === c.role &&
    sameFingerprint(old.config.peerFingerprint, c.peerFingerprint)
  ) {
    old.config = c; // a re-INVITE with the same association: keep it (and its keys)
    return;
  }
  dtlsCert ??= DtlsCertificate.generate({ commonName: "pbx" });
  const ep = new DtlsEndpoint(c.role, { certificate: dtlsCert });
  if (old !== null) closeDtls(old);
  const d: LegDtls = { config: c, ep, done: false, consentAt: performance.now() };
  leg.dtls = d;
  if (leg.srtp !== null) {
    // A new association replaces the old one's keys: nothing leaves until the handshake gives new ones.
    closeSrtp(leg.srtp);
    leg.srtp = null;
  }
  // Until the handshake gives keys, media to this leg is withheld: never sent in clear.
  leg.rtp = withheldSocket(leg.rtpSocket);
  leg.rtcp = withheldSocket(leg.rtcpSocket);
  if (c.role === "client") {
    ep.start();
    if (leg.remote !== null) sendDtls(leg, leg.remote);
    armDtlsTimer(leg, d);
  }
}

function closeDtls(d: LegDtls): void {
  d.timer?.clear();
  d.timer = undefined;
  d.ep.close();
}

/**
 * DTLS retransmission (RFC 6347 4.2.4): while a flight of ours awaits its reply, OpenSSL's timer
 * (1 s, doubling up to 60 s) runs; when it expires the flight is sent again, so a lost datagram
 * does not stall the handshake until the peer retransmits. The check runs every 50 ms from the
 * media loop's own timers (a "sync" poll loop fires plain setTimeout only when it yields) and stops
 * when no flight is outstanding.
 */
function armDtlsTimer(leg: Leg, d: LegDtls): void {
  if (d.timer !== undefined || d.done || leg.dtls !== d || d.ep.timeoutMs() === null) return;
  d.timer = mediaInterval(() => {
    const ms = d.done || leg.dtls !== d ? null : d.ep.timeoutMs();
    if (ms === null) {
      d.timer?.clear();
      d.timer = undefined;
      return;
    }
    if (ms > 0) return;
    try {
      if (d.ep.handleTimeout()) {
        const to = d.to ?? leg.remote;
        if (to !== null) sendDtls(leg, to);
      }
    } catch (e) {
      d.done = true;
      d.timer?.clear();
      d.timer = undefined;
      post({ event: "dtls", legId: leg.id, error: `DTLS handshake failed: ${(e as Error).message}` });
    }
  }, 50);
}

function sameFingerprint(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

function sendDtls(leg: Leg, to: { address: string; port: number }): void {
  for (const d of leg.dtls!.ep.drain()) leg.rtpSocket.send(d, to.port, to.address);
}

/** A DTLS record on the RTP port (first byte 20-63, RFC 7983). */
function onDtls(leg: Leg, d: LegDtls, msg: Uint8Array, rinfo: RelayRemote): void {
  try {
    d.ep.feed(msg.slice());
  } catch (e) {
    leg.stats.dropped.invalid++;
    if (!d.done) {
      d.done = true;
      post({ event: "dtls", legId: leg.id, error: `DTLS handshake failed: ${(e as Error).message}` });
    }
    return;
  }
  const from = { address: rinfo.address, port: rinfo.port };
  d.to = from;
  sendDtls(leg, from);
  if (d.done || !d.ep.connected) return armDtlsTimer(leg, d);
  d.done = true;
  d.timer?.clear();
  d.timer = undefined;
  const fp = d.ep.peerFingerprint();
  if (fp === null || !sameFingerprint(fp, d.config.peerFingerprint)) {
    post({ event: "dtls", legId: leg.id, error: "DTLS peer certificate does not match the SDP fingerprint" });
    return;
  }
  let keys;
  try {
    keys = d.ep.srtpKeys();
  } catch (e) {
    post({ event: "dtls", legId: leg.id, error: (e as Error).message });
    return;
  }
  if (leg.remote === null) {
    leg.remote = { ...from, rtcpPort: d.config.rtcpMux === true ? from.port : from.port + 1 };
    resetLatches(leg);
  }
  configureSrtp(leg, { suite: keys.suite, sendKey: keys.local, recvKey: keys.remote });
  post({ event: "dtls", legId: leg.id, suite: keys.suite });
}

/** A STUN message on the RTP port: an ICE-lite leg answers valid Binding requests (and notes consent). */
function onStun(leg: Leg, d: LegDtls, msg: Uint8Array, rinfo: RelayRemote): void {
  const ice = d.config.ice;
  const req = ice === undefined ? null : checkBindingRequest(msg, ice.localUfrag, ice.localPwd);
  if (req === null || ice === undefined || rinfo.address.includes(":")) {
    leg.stats.dropped.invalid++;
    return;
  }
  leg.rtpSocket.send(bindingSuccess(req.transactionId, rinfo, ice.localPwd), rinfo.port, rinfo.address);
  d.consentAt = performance.now();
  const r = leg.remote;
  if (r === null || (req.useCandidate && (r.address !== rinfo.address || r.port !== rinfo.port))) {
    // The checked (nominated) pair is where media goes: ICE replaces the SDP address.
    leg.remote = {
      address: rinfo.address,
      port: rinfo.port,
      rtcpPort: d.config.rtcpMux === true ? rinfo.port : rinfo.port + 1,
    };
    resetLatches(leg);
  }
}

/** A socket that drops what is sent (a DTLS-SRTP leg before its keys) and receives as usual. */
function withheldSocket(sock: RelaySocket): RelaySocket {
  return {
    port: sock.port,
    send() {},
    onMessage: (cb) => sock.onMessage(cb),
    close: () => sock.close(),
  };
}

/** Room for the largest SRTP/SRTCP overhead (AEAD tag 16 plus SRTCP index 4). */
const SRTP_ROOM = 32;

/**
 * A socket whose sends protect each packet with the leg's outbound SRTP session. Each packet gets
 * its own buffer: the dgram path holds a sent buffer until it is on the wire. A packet that cannot
 * be protected is dropped (never sent in clear).
 */
function protectingSocket(sock: RelaySocket, leg: Leg, rtcp: boolean): RelaySocket {
  return {
    port: sock.port,
    send(data, p, a) {
      const s = leg.srtp;
      if (s === null) return; // cannot happen: the plain socket is restored when SRTP goes off
      // ICE consent (RFC 7675): no valid check for 30 s means the peer no longer wants our media.
      const d = leg.dtls;
      if (d !== null && d.config.ice !== undefined && performance.now() - d.consentAt > CONSENT_MS) return;
      const buf = new Uint8Array(data.length + SRTP_ROOM);
      buf.set(data);
      let n: number;
      try {
        n = rtcp ? s.out.protectRtcp(buf, data.length) : s.out.protectRtp(buf, data.length);
      } catch {
        leg.stats.dropped.srtp++;
        return;
      }
      sock.send(buf.subarray(0, n), p, a);
    },
    onMessage: (cb) => sock.onMessage(cb),
    close: () => sock.close(),
  };
}

/**
 * Unprotect an SRTP/SRTCP packet in place: the plain length, or -1 when it must be dropped (the
 * failure is counted and reported for the first and every 1000th packet, with the libsrtp reason).
 */
function unprotect(leg: Leg, s: LegSrtp, msg: Uint8Array, rtcp: boolean): number {
  const n = rtcp ? s.in.tryUnprotectRtcp(msg, msg.length) : s.in.tryUnprotectRtp(msg, msg.length);
  if (n >= 0) return n;
  leg.stats.dropped.srtp++;
  if (s.failures++ % 1000 === 0) {
    post({ event: "srtpError", legId: leg.id, status: srtpStatusName(-n), rtcp, dropped: s.failures });
  }
  return -1;
}

/** Open a relatch window on both latches, preferring the signalled addresses. */
function resetLatches(leg: Leg): void {
  const r = leg.remote;
  leg.rtpLatch.reset(r);
  leg.rtcpLatch.reset(r === null ? null : { address: r.address, port: r.rtcpPort ?? r.port + 1 });
}

/** A leg's RFC 4733 format: payload type and clock rate. */
interface TeFormat {
  pt: number;
  rate: number;
}

/** The telephone-event format of each (shared, read-only) payload map; see teFormatOf. */
const teFormats = new WeakMap<Map<number, string>, TeFormat | null>();

/**
 * The telephone-event format of a payload map: the one whose clock rate matches the first audio
 * codec's (RFC 4733: events share the audio's timestamp space), else 8000, else the first.
 */
function teFormatOf(map: Map<number, string>): TeFormat | null {
  let f = teFormats.get(map);
  if (f !== undefined) return f;
  const events: TeFormat[] = [];
  let audioRate = 0;
  for (const [pt, enc] of map) {
    const rate = Number(enc.split("/")[1] ?? 8000) || 8000;
    if (enc.startsWith("TELEPHONE-EVENT/")) events.push({ pt, rate });
    else if (audioRate === 0 && !enc.startsWith("CN/")) audioRate = rate;
  }
  f = events.find((e) => e.rate === audioRate) ?? events.find((e) => e.rate === 8000) ?? events[0] ?? null;
  teFormats.set(map, f);
  return f;
}

/** The telephone-event payload type a leg negotiated (any rate), null when none. */
function teOf(leg: Leg): number | null {
  return leg.payloadMap === null ? null : teFormatOf(leg.payloadMap)?.pt ?? null;
}

/** In-band detection: explicit, else when the peer negotiated codecs but no telephone-event. */
function wantsInband(leg: Leg): boolean {
  return leg.detectInband ?? (leg.payloadMap !== null && teOf(leg) === null);
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
function buildRoutes(
  src: Leg,
  dst: Leg,
  transcode: TranscodeSpec | undefined,
  dir: Direction | null = null,
): Map<number, Route> | null {
  if (src.payloadMap === null || dst.payloadMap === null) {
    if (transcode === undefined) return null;
  }
  // Plain forwarding between two shared payload maps: the routes are shared too (read-only).
  if (transcode === undefined && dir === null && src.payloadMap !== null && dst.payloadMap !== null) {
    let byDst = forwardRoutes.get(src.payloadMap);
    if (byDst === undefined) forwardRoutes.set(src.payloadMap, byDst = new WeakMap());
    let routes = byDst.get(dst.payloadMap);
    if (routes === undefined) byDst.set(dst.payloadMap, routes = forwardOnly(src.payloadMap, dst.payloadMap));
    return routes;
  }
  const routes = new Map<number, Route>();
  if (src.payloadMap !== null && dst.payloadMap !== null) {
    const byEncoding = new Map<string, number>();
    for (const [pt, enc] of dst.payloadMap) if (!byEncoding.has(enc)) byEncoding.set(enc, pt);
    for (const [pt, enc] of src.payloadMap) {
      // Toward a transcoded stream (the box's own SSRC), events are sent again by the box.
      if (dir !== null && enc.startsWith("TELEPHONE-EVENT")) continue;
      const out = byEncoding.get(enc);
      if (out !== undefined) routes.set(pt, { kind: "forward", pt: out });
    }
  }
  if (dir !== null) routes.set(dir.spec.from.pt, { kind: "jitter", dir });
  else if (transcode !== undefined) {
    const convert = findConverter(transcode.from.codec, transcode.to.codec);
    if (convert === null) {
      throw new TypeError(
        `transcoding ${transcode.from.codec} -> ${transcode.to.codec} needs a codec pipeline`,
      );
    }
    routes.set(transcode.from.pt, { kind: "transcode", pt: transcode.to.pt, convert });
  }
  return routes;
}

/** Forward-only routes by (source map, destination map); see buildRoutes. */
const forwardRoutes = new WeakMap<Map<number, string>, WeakMap<Map<number, string>, Map<number, Route>>>();

function forwardOnly(src: Map<number, string>, dst: Map<number, string>): Map<number, Route> {
  const routes = new Map<number, Route>();
  const byEncoding = new Map<string, number>();
  for (const [pt, enc] of dst) if (!byEncoding.has(enc)) byEncoding.set(enc, pt);
  for (const [pt, enc] of src) {
    const out = byEncoding.get(enc);
    if (out !== undefined) routes.set(pt, { kind: "forward", pt: out });
  }
  return routes;
}

/** The registry factory for "name/rate" (as in payload maps); TypeError when not available. */
function factoryOf(codec: string): CodecFactory {
  const [name = "", rate] = codec.trim().split("/");
  const f = registry.get(name, Number(rate ?? 8000));
  if (f === undefined) throw new TypeError(`codec ${codec} is not available for transcoding`);
  return f;
}

function openCodec(ref: CodecRef, leg: Leg): AudioCodec {
  const f = factoryOf(ref.codec);
  const frameMs = ref.ptime ?? leg.ptime;
  const codec = f.create({ frameMs, ...(ref.fmtp !== undefined ? { fmtp: ref.fmtp } : {}) });
  liveCodecs++;
  return codec;
}

function closeCodec(c: AudioCodec): void {
  c.close();
  liveCodecs--;
}

/** Longest decoded packet accepted: 120 ms at 48 kHz. */
const MAX_DECODED = 5760;

function makeDirection(src: Leg, dst: Leg, spec: TranscodeSpec, dec: AudioCodec, enc: AudioCodec): Direction {
  const resampler = new Resampler(dec.sampleRate, enc.sampleRate);
  liveResamplers++;
  const resampled = new Int16Array(resampler.maxOutput(MAX_DECODED));
  const outFrame = frameSamples(enc);
  const frameMs = spec.from.ptime ?? src.ptime;
  return {
    src,
    dst,
    spec,
    dec,
    enc,
    jb: new JitterBuffer({ clockRate: dec.rtpClockRate, frameMs }),
    frameMs,
    lastTs: null,
    lastSeq: null,
    resampler,
    decoded: new Int16Array(MAX_DECODED),
    resampled,
    fifo: new Int16Array(outFrame + resampled.length),
    fifoLen: 0,
    outFrame,
    outTicks: Math.round(outFrame * enc.rtpClockRate / enc.sampleRate),
    nextDue: performance.now(),
    detector: wantsInband(src) ? new DtmfDetector({ sampleRate: dec.sampleRate }) : null,
  };
}

function closeDirection(d: Direction): void {
  if (!directions.delete(d)) return;
  d.resampler.close();
  liveResamplers--;
  if (d.src.dirIn === d) d.src.dirIn = null;
}

/** Drop a leg's transcoding state (directions through it and its codec instance). */
function dropTranscoding(leg: Leg): void {
  if (leg.dirIn !== null) closeDirection(leg.dirIn);
  for (const d of directions) if (d.dst === leg) closeDirection(d);
  if (leg.codec !== null) {
    closeCodec(leg.codec);
    leg.codec = null;
  }
  leg.tone = null;
  leg.dtmfQueue = leg.dtmfQueue.filter((i) => i.mode === "rfc4733");
}

/** Whether a spec needs the codec pipeline (anything but the G.711 table conversions). */
function needsPipeline(spec: TranscodeSpec | undefined): boolean {
  return spec !== undefined && findConverter(spec.from.codec, spec.to.codec) === null;
}

function bridge(a: Leg, b: Leg, opts: BridgeOptions): void {
  a.heardAt = b.heardAt = performance.now();
  if (a === b) throw new RangeError(`cannot bridge a leg to itself: "${a.id}"`);
  if (a.mix !== null) removeFromMix(a.mix, a);
  if (b.mix !== null) removeFromMix(b.mix, b);
  const aToB = opts.transcode?.aToB;
  const bToA = opts.transcode?.bToA;
  // Open codecs first so a missing library leaves the old bridge untouched.
  const opened: AudioCodec[] = [];
  let codecA: AudioCodec | null = null;
  let codecB: AudioCodec | null = null;
  try {
    if (needsPipeline(aToB) || needsPipeline(bToA)) {
      const refA = aToB?.from ?? bToA!.to;
      const refB = aToB?.to ?? bToA!.from;
      codecA = openCodec(refA, a);
      opened.push(codecA);
      codecB = openCodec(refB, b);
      opened.push(codecB);
    }
    // Validates the G.711 table routes (throws before anything changes).
    if (!needsPipeline(aToB)) buildRoutes(a, b, aToB);
    if (!needsPipeline(bToA)) buildRoutes(b, a, bToA);
  } catch (err) {
    for (const c of opened) closeCodec(c);
    throw err;
  }
  if (a.peer !== null) unbridge(a);
  if (b.peer !== null) unbridge(b);
  a.peer = b;
  b.peer = a;
  a.transcode = aToB;
  b.transcode = bToA;
  a.codec = codecA;
  b.codec = codecB;
  if (codecA !== null && codecB !== null) {
    if (needsPipeline(aToB)) {
      a.dirIn = makeDirection(a, b, aToB!, codecA, codecB);
      directions.add(a.dirIn);
    }
    if (needsPipeline(bToA)) {
      b.dirIn = makeDirection(b, a, bToA!, codecB, codecA);
      directions.add(b.dirIn);
    }
    ensureMediaTimer();
  }
  a.routes = buildRoutes(a, b, aToB, a.dirIn);
  b.routes = buildRoutes(b, a, bToA, b.dirIn);
}

function unbridge(leg: Leg): void {
  const peer = leg.peer;
  if (peer !== null) {
    peer.peer = null;
    peer.routes = null;
    peer.transcode = undefined;
    dropTranscoding(peer);
  }
  leg.peer = null;
  leg.routes = null;
  leg.transcode = undefined;
  dropTranscoding(leg);
}

function resources(): MediaResources {
  return {
    legs: legs.size,
    codecs: liveCodecs,
    resamplers: liveResamplers,
    transcodeDirections: directions.size,
    recorders: recorders.size,
    mixes: mixes.size,
    timer: mediaTimer !== undefined,
  };
}

async function release(leg: Leg): Promise<void> {
  if (leg.mix !== null) removeFromMix(leg.mix, leg);
  // Its failure is reported as the "recorded" event (reason "error"); nothing awaits it here, but
  // a "sync" poll loop must not block in epoll_wait before the file is closed and renamed (with no
  // other leg left nothing else would wake it, and the "recorded" event would wait for the next call).
  if (leg.recorder !== null) commandArrived(stopRecord(leg, "released").catch(() => {}), false);
  unbridge(leg);
  setTap(leg, false);
  leg.dtmfQueue = [];
  stopPlay(leg, "released");
  legs.delete(leg.id);
  if (leg.srtp !== null) {
    closeSrtp(leg.srtp);
    leg.srtp = null;
  }
  if (leg.dtls !== null) {
    closeDtls(leg.dtls);
    leg.dtls = null;
  }
  await Promise.all([closeSocket(leg.rtpSocket), closeSocket(leg.rtcpSocket)]);
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
    lastPacketAt: leg.stats.lastPacketAt === 0 ? null : leg.stats.lastPacketAt,
    latched: l.address === null ? null : { address: l.address, port: l.port },
    latchedSsrc: l.ssrc,
    remote: leg.remote === null ? null : { ...leg.remote },
    bridgedTo: leg.peer?.id ?? null,
    srtp: leg.srtp?.suite ?? null,
  };
}

/** Where a leg sends RTP: the latched source, else the SDP address. */
function rtpDest(leg: Leg): { readonly address: string; readonly port: number } | null {
  // The live objects, not a copy: called per packet, and callers use the result at once.
  if (leg.latching && leg.rtpLatch.address !== null) return leg.rtpLatch as { address: string; port: number };
  return leg.remote;
}

function rtcpDest(leg: Leg): { address: string; port: number } | null {
  if (leg.latching && leg.rtcpLatch.address !== null) {
    return { address: leg.rtcpLatch.address, port: leg.rtcpLatch.port };
  }
  if (leg.remote === null) return null;
  return { address: leg.remote.address, port: leg.remote.rtcpPort ?? leg.remote.port + 1 };
}

/**
 * The header of the packet onRtp is handling: one object reused for every packet, so the
 * pass-through path allocates nothing per packet (young-generation GC pauses showed up as relay
 * jitter). Valid only until onRtp returns; whatever outlives it copies the fields.
 */
const rtpIn = newRtpHeaderInfo();
/** performance.timeOrigin, read once: epoch ms = EPOCH0 + performance.now(). */
const EPOCH0 = performance.timeOrigin;

function onRtp(leg: Leg, msg: Uint8Array, rinfo: RelayRemote): void {
  const st = leg.stats;
  const h = rtpIn;
  // RFC 7983 demultiplexing on a DTLS-SRTP leg: STUN, DTLS, RTCP (rtcp-mux), then SRTP.
  const dt = leg.dtls;
  if (dt !== null) {
    const b = msg[0]!;
    if (b < 4) return onStun(leg, dt, msg, rinfo);
    if (b >= 20 && b < 64) return onDtls(leg, dt, msg, rinfo);
    if (dt.config.rtcpMux === true && msg.length >= 8 && msg[1]! >= 192 && msg[1]! <= 223) {
      return onRtcp(leg, msg, rinfo);
    }
    if (leg.srtp === null) {
      st.dropped.srtp++; // media before the handshake keyed the leg
      return;
    }
  }
  // SRTP first: a packet that does not authenticate never latches, counts or reaches the peer.
  if (leg.srtp !== null) {
    const n = unprotect(leg, leg.srtp, msg, false);
    if (n < 0) return;
    msg = msg.subarray(0, n);
  }
  if (!readRtpHeaderInto(msg, h)) {
    st.dropped.invalid++;
    return;
  }
  const now = performance.now();
  if (leg.latching) {
    const d = leg.rtpLatch.offer(rinfo.address, rinfo.port, h.ssrc, now);
    if (d === "rejected") {
      st.dropped.rejectedSource++;
      return;
    }
    if (d !== "accepted") post({ event: "latched", legId: leg.id, address: rinfo.address, port: rinfo.port });
  }
  st.packetsIn++;
  st.bytesIn += msg.length;
  st.lastPacketAt = Math.floor(EPOCH0 + now);
  leg.heardAt = now;
  const enc = leg.payloadMap?.get(h.payloadType);
  if (enc !== undefined && enc.startsWith("TELEPHONE-EVENT")) onTelephoneEvent(leg, msg, h, enc);
  if (leg.tap || leg.feeds.length > 0) tapAudio(leg, msg, h, enc);
  const route = leg.routes?.get(h.payloadType);
  if (route?.kind === "jitter") {
    // Transcoded: the packet waits for the direction's clock (see tickMedia).
    pushJitter(route.dir, msg, h);
    return;
  }
  if (leg.detector8k !== null && enc !== undefined && G711[enc] !== undefined) {
    detectG711(leg, msg, h, enc);
    // The digit reaches the peer as RFC 4733: keep the tone out of its audio, or it counts it twice.
    if (leg.detector8k.toneActive && leg.peer !== null && teOf(leg.peer) !== null) {
      msg.fill(enc.startsWith("PCMA") ? 0xd5 : 0xff, h.payloadOffset, h.payloadOffset + h.payloadLength);
    }
  }
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
    if (route === undefined) {
      st.dropped.noRoute++;
      return;
    }
    if (route.kind === "forward") {
      if (route.pt !== h.payloadType) setRtpPayloadType(msg, route.pt);
      if (peer.tone !== null) injectG711(peer, msg, h, peer.payloadMap?.get(route.pt));
    } else if (route.kind === "transcode") {
      out = transcodePacket(msg, h, route);
      if (peer.tone !== null) injectG711(peer, out, parseRtp(out)!, peer.payloadMap?.get(route.pt));
    }
  }
  if (!trackForwarded(peer, out, h, now)) return;
  peer.rtp.send(out, dest.port, dest.address);
  peer.stats.packetsOut++;
  peer.stats.bytesOut += out.length;
}

const FWD_SSRC = 0;
const FWD_SEQ = 1;
const FWD_TS = 2;
const FWD_AT = 3;
const FWD_DELTA = 4;

/**
 * Note a packet forwarded toward `dst` (its stream's SSRC, sequence and timestamp), shifting its
 * sequence number past packets the box inserted into that stream (RFC 4733 events). While the box
 * sends an event in the stream, the forwarded audio is held back (false: do not send). No
 * allocation: typed-array stores only.
 */
function trackForwarded(dst: Leg, pkt: Uint8Array, h: RtpHeaderInfo, now: number): boolean {
  const f = dst.fwd;
  if (f[FWD_SSRC] !== h.ssrc || f[FWD_AT] === 0) {
    f[FWD_SSRC] = h.ssrc; // a new stream: its own sequence space
    f[FWD_DELTA] = 0;
  }
  const item = dst.dtmfQueue[0];
  if (item !== undefined && item.inFwd === true && item.startMs !== undefined) {
    f[FWD_DELTA] = f[FWD_DELTA]! - 1; // this packet's number goes to the event
    return false;
  }
  let seq = h.sequence;
  if (f[FWD_DELTA] !== 0) {
    seq = (seq + f[FWD_DELTA]!) & 0xffff;
    pkt[2] = seq >> 8;
    pkt[3] = seq & 0xff;
  }
  f[FWD_SEQ] = seq;
  f[FWD_TS] = h.timestamp;
  f[FWD_AT] = now;
  return true;
}

function transcodePacket(
  msg: Uint8Array,
  h: RtpHeaderInfo,
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

function onTelephoneEvent(leg: Leg, msg: Uint8Array, h: RtpHeaderInfo, enc: string): void {
  const ev = decodeTelephoneEvent(msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength));
  // Report once per event, on its first end packet (end packets are sent three times).
  if (ev === null || !ev.end || leg.lastDtmfTs === h.timestamp) return;
  leg.lastDtmfTs = h.timestamp;
  const digit = eventToDigit(ev.event);
  if (digit === undefined) return;
  const rate = Number(enc.split("/")[1] ?? 8000) || 8000;
  const durationMs = Math.round(ev.duration * 1000 / rate);
  post({ event: "dtmf", legId: leg.id, digit, durationMs, source: "rfc4733" });
  // The peer has no telephone-event: the digit becomes tones in its audio.
  const peer = leg.peer;
  if (peer === null) return;
  if (teOf(peer) === null) {
    if (canInject(peer) && peer.injectDtmf) {
      queueDtmf(peer, { digit, durationMs: Math.max(80, Math.min(durationMs, 1000)), mode: "inband" });
    }
    return;
  }
  // Forwarded as is when a route carries it (same rate, same stream as the audio forwarded with
  // it); else (another rate, or the peer gets the box's transcoded stream) the box sends the event
  // again in the peer's own stream and rate.
  const route = leg.routes?.get(h.payloadType);
  if (leg.routes !== null && route?.kind !== "forward" && route?.kind !== "transcode") {
    queueDtmf(peer, { digit, durationMs: Math.max(40, Math.min(durationMs, 5000)), mode: "rfc4733" });
  }
}

/** Digits found in the audio a leg sent: report them, and send RFC 4733 to a peer that takes it. */
function onInbandDigit(leg: Leg, digit: string): void {
  post({ event: "dtmf", legId: leg.id, digit, durationMs: 100, source: "inband" });
  const peer = leg.peer;
  if (peer !== null && teOf(peer) !== null) queueDtmf(peer, { digit, durationMs: 100, mode: "rfc4733" });
}

const scratch8k = new Int16Array(1500);

function detectG711(leg: Leg, msg: Uint8Array, h: RtpHeaderInfo, enc: string): void {
  const n = Math.min(h.payloadLength, scratch8k.length);
  const pcm = scratch8k.subarray(0, n);
  G711[enc]!.decode(msg.subarray(h.payloadOffset, h.payloadOffset + n), pcm);
  for (const d of leg.detector8k!.process(pcm)) onInbandDigit(leg, d);
}

/** Whether tones can be written into the audio the box sends to `leg`. */
function canInject(leg: Leg): boolean {
  if (leg.codec !== null) return true; // transcoded toward it
  for (const enc of leg.payloadMap?.values() ?? []) if (G711[enc] !== undefined) return true;
  return leg.payloadMap === null;
}

/** Overwrite a G.711 packet going to `leg` with the next samples of its pending tone. */
function injectG711(leg: Leg, pkt: Uint8Array, h: RtpHeaderInfo, enc: string | undefined): void {
  const codec = G711[enc ?? (h.payloadType === 8 ? "PCMA/8000" : "PCMU/8000")];
  const tone = leg.tone!;
  if (codec === undefined || tone.rate !== 8000) return;
  const n = h.payloadLength;
  const pcm = scratch8k.subarray(0, n);
  pcm.fill(0);
  pcm.set(tone.pcm.subarray(tone.off, tone.off + n));
  codec.encode(pcm, pkt.subarray(h.payloadOffset, h.payloadOffset + n));
  tone.off += n;
  if (tone.off >= tone.pcm.length) finishTone(leg);
}

function finishTone(leg: Leg): void {
  leg.tone = null;
  leg.dtmfQueue.shift();
  startNextDtmf(leg);
}

function queueDtmf(leg: Leg, item: DtmfItem): void {
  leg.dtmfQueue.push(item);
  if (leg.dtmfQueue.length === 1) startNextDtmf(leg);
}

function startNextDtmf(leg: Leg): void {
  const item = leg.dtmfQueue[0];
  if (item === undefined) return;
  if (item.mode === "inband") {
    const rate = leg.codec?.sampleRate ?? 8000;
    leg.tone = {
      pcm: generateDtmf(item.digit, { sampleRate: rate, toneMs: item.durationMs, gapMs: 60 }),
      off: 0,
      rate,
    };
  } else {
    const now = performance.now();
    const te = leg.payloadMap === null ? null : teFormatOf(leg.payloadMap);
    if (te !== null) item.pt = te.pt;
    else delete item.pt;
    item.rate = te?.rate ?? 8000;
    const f = leg.fwd;
    // Relay path: join the stream forwarded to the leg (its SSRC, sequence and timestamp space).
    item.inFwd = leg.codec === null && leg.player === null && leg.mix === null &&
      f[FWD_AT] !== 0 && now - f[FWD_AT]! < 1000;
    item.ts = item.inFwd
      ? (f[FWD_TS]! + Math.round((now - f[FWD_AT]!) * item.rate / 1000)) >>> 0
      : leg.out.ts;
    item.startMs = now;
    item.sentSteps = 0;
    item.ends = 0;
    ensureMediaTimer();
  }
}

/** Deliver a digit toward a leg: RFC 4733 when it negotiated telephone-event, else tones. */
function sendDtmf(leg: Leg, digit: string, durationMs: number): DtmfDelivery {
  digitToEvent(digit); // RangeError on a bad digit
  if (!Number.isFinite(durationMs) || durationMs < 20 || durationMs > 5000) {
    throw new RangeError(`bad DTMF duration: ${durationMs} ms`);
  }
  const mode = teOf(leg) !== null ? "rfc4733" : canInject(leg) ? "inband" : null;
  if (mode === null) return "none";
  queueDtmf(leg, { digit, durationMs: Math.round(durationMs), mode });
  return mode;
}

/** One 20 ms step of the RFC 4733 event at the head of a leg's queue (RFC 4733 section 2.5). */
function stepEvent(leg: Leg, item: DtmfItem, now: number): void {
  const pt = item.pt;
  const dest = rtpDest(leg);
  if (pt === undefined || teOf(leg) === null) {
    leg.dtmfQueue.shift();
    startNextDtmf(leg);
    return;
  }
  const rate = item.rate ?? 8000;
  const total = Math.min(0xffff, Math.round(item.durationMs * rate / 1000));
  const stepTicks = Math.round(20 * rate / 1000);
  const due = Math.floor((now - item.startMs!) / 20) + 1;
  const f = leg.fwd;
  while (item.sentSteps! < due) {
    const eventBuf = new Uint8Array(16); // dgram may still hold the previous one
    const step = ++item.sentSteps!;
    const dur = Math.min(step * stepTicks, total);
    const end = dur >= total;
    let seq: number;
    let ssrc: number;
    if (item.inFwd === true) {
      // The next number of the forwarded stream; later forwarded packets shift past it.
      seq = (f[FWD_SEQ]! + 1) & 0xffff;
      f[FWD_SEQ] = seq;
      f[FWD_DELTA] = f[FWD_DELTA]! + 1;
      ssrc = f[FWD_SSRC]!;
    } else {
      seq = leg.out.seq;
      leg.out.seq = (leg.out.seq + 1) & 0xffff;
      ssrc = leg.out.ssrc;
    }
    writeRtpHeader(eventBuf, {
      payloadType: pt,
      sequence: seq,
      timestamp: item.ts!,
      ssrc,
      marker: step === 1,
    });
    encodeTelephoneEvent(
      { event: digitToEvent(item.digit), end, volume: 10, duration: dur },
      eventBuf.subarray(12),
    );
    if (dest !== null) {
      leg.rtp.send(eventBuf.subarray(0, 16), dest.port, dest.address);
      leg.stats.packetsOut++;
      leg.stats.bytesOut += 16;
    }
    if (end && ++item.ends! >= 3) {
      // Next audio/event continues the timeline after this event (plus a short gap).
      // (A player or a mix advances the leg's own timestamps itself.)
      if (leg.codec === null && item.inFwd !== true && leg.player === null && leg.mix === null) {
        leg.out.ts = (item.ts! + total + Math.round(50 * rate / 1000)) >>> 0;
      }
      leg.dtmfQueue.shift();
      startNextDtmf(leg);
      return;
    }
  }
}

// ---- transcoding (jitter buffer, decode, resample, encode), paced by the media timer ----

function pushJitter(d: Direction, msg: Uint8Array, h: RtpHeaderInfo): void {
  // Learn the sender's real packetization from consecutive packets (ptime may be absent or wrong).
  if (d.lastSeq !== null && d.lastTs !== null && ((d.lastSeq + 1) & 0xffff) === h.sequence) {
    const ms = ((h.timestamp - d.lastTs) >>> 0) * 1000 / d.dec.rtpClockRate;
    if (ms !== d.frameMs && [10, 20, 30, 40, 60].includes(ms)) {
      d.frameMs = ms;
      d.jb = new JitterBuffer({ clockRate: d.dec.rtpClockRate, frameMs: ms });
    }
  }
  d.lastSeq = h.sequence;
  d.lastTs = h.timestamp;
  // Copy: the payload outlives this datagram's buffer.
  const payload = msg.slice(h.payloadOffset, h.payloadOffset + h.payloadLength);
  d.jb.push(
    { seq: h.sequence, timestamp: h.timestamp, marker: h.marker, ssrc: h.ssrc, payload },
    performance.now(),
  );
}

const encoded = new Uint8Array(1500);

function stepDirection(d: Direction, now: number): void {
  const p = d.jb.pop(now);
  const dst = d.dst;
  let n: number;
  if (p === undefined) {
    if (dst.tone === null) {
      // Nothing to play: keep the far side's clock running, send nothing (like DTX).
      dst.out.ts = (dst.out.ts + Math.round(d.frameMs * d.enc.rtpClockRate / 1000)) >>> 0;
      dst.out.marker = true;
      d.fifoLen = 0;
      return;
    }
    n = Math.round(d.dec.sampleRate * d.frameMs / 1000);
    d.decoded.fill(0, 0, n);
  } else if (p === "lost") {
    n = concealOrSilence(d);
  } else {
    try {
      n = d.dec.decode(p.payload, d.decoded);
    } catch {
      n = concealOrSilence(d); // a payload the decoder rejects is as good as lost
    }
  }
  const pcm = d.decoded.subarray(0, n);
  if (d.detector !== null && p !== undefined && p !== "lost") {
    for (const digit of d.detector.process(pcm)) onInbandDigit(d.src, digit);
    // As in the pass-through path: a peer that gets RFC 4733 must not also hear the tone.
    if (d.detector.toneActive && d.src.peer !== null && teOf(d.src.peer) !== null) pcm.fill(0);
  }
  const m = d.resampler.process(pcm, d.resampled);
  const res = d.resampled.subarray(0, m);
  const tone = dst.tone;
  if (tone !== null && tone.rate === d.enc.sampleRate) {
    const k = Math.min(m, tone.pcm.length - tone.off);
    res.set(tone.pcm.subarray(tone.off, tone.off + k));
    res.fill(0, k);
    tone.off += k;
    if (tone.off >= tone.pcm.length) finishTone(dst);
  }
  if (d.fifoLen + m > d.fifo.length) d.fifoLen = 0; // cannot happen with sane frames; never overflow
  d.fifo.set(res, d.fifoLen);
  d.fifoLen += m;
  let read = 0;
  const dest = rtpDest(dst);
  while (d.fifoLen - read >= d.outFrame) {
    const bytes = d.enc.encode(d.fifo.subarray(read, read + d.outFrame), encoded);
    read += d.outFrame;
    if (bytes > 0 && dst.player === null) {
      const outPacket = new Uint8Array(12 + bytes); // dgram sends asynchronously: one buffer per packet
      outPacket.set(encoded.subarray(0, bytes), 12);
      writeRtpHeader(outPacket, {
        payloadType: d.spec.to.pt,
        sequence: dst.out.seq,
        timestamp: dst.out.ts,
        ssrc: dst.out.ssrc,
        marker: dst.out.marker,
      });
      dst.out.marker = false;
      dst.out.seq = (dst.out.seq + 1) & 0xffff;
      if (dest === null) d.src.stats.dropped.noDestination++;
      else {
        dst.rtp.send(outPacket, dest.port, dest.address);
        dst.stats.packetsOut++;
        dst.stats.bytesOut += 12 + bytes;
      }
    }
    dst.out.ts = (dst.out.ts + d.outTicks) >>> 0;
  }
  if (read > 0) {
    d.fifo.copyWithin(0, read, d.fifoLen);
    d.fifoLen -= read;
  }
}

function concealOrSilence(d: Direction): number {
  if (d.dec.conceal) return d.dec.conceal(d.decoded);
  const n = frameSamples(d.dec);
  d.decoded.fill(0, 0, n);
  return n;
}

// ---- RTP inactivity: a peer that died (killed phone, lost network) stops sending ----

let inactivityTimer: PollTimer | undefined;

/**
 * Check every leg for silence (no RTP and no RTCP) longer than `timeoutMs`, a few times per
 * timeout. A silent leg is reported as an "inactive" event, and again every further `timeoutMs` it
 * stays silent: the call layer decides (a held call is left alone, an answered one is ended).
 */
function startInactivityWatch(timeoutMs: number): void {
  inactivityTimer?.clear();
  const every = Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4)));
  inactivityTimer = mediaInterval(() => checkInactivity(timeoutMs), every);
}

function checkInactivity(timeoutMs: number): void {
  const now = performance.now();
  for (const leg of legs.values()) {
    // Only legs in use: a remote to send to, a bridge, a mix or a tap (a leg waiting for its
    // answer has none of these and is not watched).
    if (leg.remote === null && leg.peer === null && leg.mix === null && !leg.tap) continue;
    const since = leg.reportedAt >= leg.heardAt ? leg.reportedAt : leg.heardAt;
    if (now - since < timeoutMs) continue;
    leg.reportedAt = now;
    post({ event: "inactive", legId: leg.id, silentMs: Math.round(now - leg.heardAt) });
  }
}

/** One tick of the media clock: every transcoded direction and every RFC 4733 sender. */
function tickMedia(): void {
  const now = performance.now();
  for (const d of directions) {
    let steps = 0;
    while (now >= d.nextDue && steps++ < 5) {
      stepDirection(d, now);
      d.nextDue += d.frameMs;
    }
    // After a stall (GC, overloaded core) resume from now instead of bursting.
    if (now - d.nextDue > 100) d.nextDue = now;
  }
  let senders = 0;
  for (const leg of legs.values()) {
    if (leg.tapState !== null && serviceTap(leg, leg.tapState, now)) senders++;
    const item = leg.dtmfQueue[0];
    if (item === undefined || item.mode !== "rfc4733") continue;
    stepEvent(leg, item, now);
    senders++;
  }
  for (const r of recorders) {
    tickRecorder(r, now);
    senders++;
  }
  for (const m of mixes.values()) {
    tickMix(m, now);
    senders++;
  }
  if (directions.size === 0 && senders === 0 && mediaTimer !== undefined) {
    mediaTimer.clear();
    mediaTimer = undefined;
  }
}

function ensureMediaTimer(): void {
  // 5 ms ticks: a 20 ms frame leaves at most 5 ms late, whatever the arrival pattern.
  if (mediaTimer === undefined) mediaTimer = mediaInterval(tickMedia, 5);
}

// ---- taps: what a leg receives, decoded for the box's own features (paging, recording) ----

/** A tapped packet waiting in the tap's jitter buffer, with its arrival time for latency probes. */
interface TapPacket extends JitterPacket {
  /** Epoch ms the datagram arrived. */
  receivedAt: number;
}

/**
 * Decoding for a tapped leg. In-order packets are decoded the moment they arrive (a feature such
 * as paging has its own paced output, so waiting here would only add delay); a gap waits for the
 * jitter buffer's target delay so a reordered packet can still fill it, then is concealed (PLC).
 */
interface TapState {
  pt: number;
  dec: AudioCodec;
  jb: JitterBuffer;
  /** Duration of the last decoded frame. */
  frameMs: number;
  /** Sequence number to decode next; null before the first packet (or after a new source). */
  expected: number | null;
  /** Sequence numbers queued in `jb`. */
  pending: Set<number>;
  /** performance.now() by which the next frame is produced even when its packet is missing. */
  due: number;
  /** Concealing or waiting for a gap: the media timer has work on this tap. */
  active: boolean;
  /** RTP timestamp of the last frame emitted. */
  lastTs: number;
  decoded: Int16Array;
  detector: DtmfDetector | null;
}

/** Epoch ms with sub-ms precision (same clock as the ALSA writer's "written" reports). */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The encoding of a static payload type (RFC 3551) the registry knows, for legs without a map. */
function staticEncoding(pt: number): string | undefined {
  const f = registry.available().find((x) => x.staticPayloadType === pt);
  return f === undefined ? undefined : normEncoding(`${f.name}/${f.rtpClockRate}`);
}

function setTap(leg: Leg, on: boolean): void {
  leg.tap = on;
  leg.heardAt = performance.now();
  if (!on && leg.feeds.length === 0) closeTap(leg);
}

function closeTap(leg: Leg): void {
  const t = leg.tapState;
  if (t === null) return;
  leg.tapState = null;
  closeCodec(t.dec);
}

function openTap(leg: Leg, pt: number, encoding: string): TapState | null {
  const [name = "", rate = "8000"] = encoding.split("/");
  const f = registry.get(name, Number(rate));
  if (f === undefined) {
    leg.tapUnsupported = pt;
    return null;
  }
  let dec: AudioCodec;
  try {
    // Opus decodes at 48 kHz here: full band for the speakers, which usually run at 48 kHz.
    dec = f.create({ frameMs: leg.ptime, ...(f.rtpClockRate === 48000 ? { sampleRate: 48000 } : {}) });
  } catch {
    leg.tapUnsupported = pt;
    return null;
  }
  liveCodecs++;
  const g711 = G711[encoding] !== undefined; // G.711 is already checked for tones in onRtp
  return {
    pt,
    dec,
    jb: new JitterBuffer({
      clockRate: f.rtpClockRate,
      frameMs: leg.ptime,
      minDelayMs: 0,
      initialDelayMs: 0,
      maxDelayMs: 100,
    }),
    frameMs: leg.ptime,
    expected: null,
    pending: new Set(),
    due: Infinity,
    active: false,
    lastTs: 0,
    decoded: new Int16Array(MAX_DECODED),
    detector: !g711 && wantsInband(leg) && leg.dirIn === null
      ? new DtmfDetector({ sampleRate: dec.sampleRate })
      : null,
  };
}

function tapAudio(leg: Leg, msg: Uint8Array, h: RtpHeaderInfo, enc: string | undefined): void {
  const name = enc ?? staticEncoding(h.payloadType);
  if (name === undefined || name.startsWith("TELEPHONE-EVENT") || name.startsWith("CN/")) return;
  let t = leg.tapState;
  if (t === null || t.pt !== h.payloadType) {
    if (leg.tapUnsupported === h.payloadType) return;
    closeTap(leg); // the sender switched codecs
    t = leg.tapState = openTap(leg, h.payloadType, name);
    if (t === null) return;
  }
  const now = performance.now();
  const pkt: TapPacket = {
    seq: h.sequence,
    timestamp: h.timestamp,
    marker: h.marker,
    ssrc: h.ssrc,
    // Copy: the payload outlives this datagram's buffer.
    payload: msg.slice(h.payloadOffset, h.payloadOffset + h.payloadLength),
    receivedAt: epochNow(),
  };
  const r = t.jb.push(pkt, now);
  if (r === "late" || r === "duplicate") return;
  if (r === "reset") {
    t.pending.clear();
    t.expected = null;
  }
  t.pending.add(h.sequence);
  drainTap(leg, t, now);
  if (t.pending.size > 0) {
    // A gap (or a talkspurt waiting for its delay): the media timer decides when to stop waiting.
    t.active = true;
    if (t.due === Infinity) t.due = now + t.jb.targetDelayMs;
    ensureMediaTimer();
  }
}

/** Decode every packet that is next in sequence. */
function drainTap(leg: Leg, t: TapState, now: number): void {
  while (t.expected === null || t.pending.has(t.expected)) {
    const p = t.jb.pop(now);
    if (p === undefined) return;
    emitTap(leg, t, p);
    // Next packet due one frame on, plus the jitter target before its absence counts as loss.
    t.due = now + t.frameMs + Math.max(t.jb.targetDelayMs, 5);
    t.active = true;
    ensureMediaTimer();
  }
}

/** Media-timer work on a tap: conceal a missing frame once it is overdue. True while it has work. */
function serviceTap(leg: Leg, t: TapState, now: number): boolean {
  if (!t.active) return false;
  if (now < t.due) return true;
  const p = t.jb.pop(now);
  if (p === undefined) {
    // Talkspurt over (or still waiting for its playout delay).
    if (t.pending.size === 0) {
      t.active = false;
      t.due = Infinity;
      return false;
    }
    t.due = now;
    return true;
  }
  emitTap(leg, t, p);
  t.due = now + t.frameMs;
  drainTap(leg, t, now);
  return true;
}

function emitTap(leg: Leg, t: TapState, p: JitterPacket | "lost"): void {
  let n: number;
  let receivedAt: number;
  let timestamp: number;
  if (p === "lost") {
    n = t.dec.conceal ? t.dec.conceal(t.decoded) : silenceFrame(t);
    receivedAt = epochNow();
    timestamp = (t.lastTs + Math.round(t.frameMs * t.dec.rtpClockRate / 1000)) >>> 0;
    if (t.expected !== null) t.expected = (t.expected + 1) & 0xffff;
  } else {
    t.pending.delete(p.seq);
    // Whatever the jitter buffer dropped before this packet will never be popped.
    for (const s of t.pending) if (((p.seq - s) & 0xffff) < 0x8000) t.pending.delete(s);
    t.expected = (p.seq + 1) & 0xffff;
    try {
      n = t.dec.decode(p.payload, t.decoded);
    } catch {
      n = t.dec.conceal ? t.dec.conceal(t.decoded) : silenceFrame(t); // undecodable = lost
    }
    receivedAt = (p as TapPacket).receivedAt;
    timestamp = p.timestamp;
  }
  t.lastTs = timestamp;
  if (n <= 0) return;
  t.frameMs = n * 1000 / t.dec.sampleRate;
  const view = t.decoded.subarray(0, n);
  if (t.detector !== null && p !== "lost") {
    for (const digit of t.detector.process(view)) onInbandDigit(leg, digit);
  }
  for (const f of leg.feeds) pushFeed(f, view, t.dec.sampleRate);
  if (!leg.tap) return;
  const pcm = view.slice();
  post(
    { event: "audio", legId: leg.id, pcm, sampleRate: t.dec.sampleRate, timestamp, receivedAt },
    [pcm.buffer],
  );
}

function silenceFrame(t: TapState): number {
  const n = Math.round(t.dec.sampleRate * t.frameMs / 1000);
  t.decoded.fill(0, 0, n);
  return n;
}

function onRtcp(leg: Leg, msg: Uint8Array, rinfo: RelayRemote): void {
  if (leg.srtp !== null) {
    const n = unprotect(leg, leg.srtp, msg, true);
    if (n < 0) return;
    msg = msg.subarray(0, n);
  }
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
  leg.heardAt = performance.now();
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

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** An encoder for what the box itself sends into a leg (players, mixes). */
interface LegEncoder {
  pt: number;
  /** PCM rate the encoder takes. */
  rate: number;
  /** RTP ticks per sample. */
  tickRatio: number;
  encode: (pcm: Int16Array, out: Uint8Array) => number;
  /** The registry codec to close, null for the G.711 tables. */
  codec: AudioCodec | null;
}

/** Whether the worker can encode an encoding ("NAME/RATE") for sending. */
function canEncode(enc: string): boolean {
  if (G711[enc] !== undefined) return true;
  const [name = "", rate] = enc.split("/");
  return registry.get(name, Number(rate ?? 8000)) !== undefined;
}

/**
 * Open an encoder for `pt` on `leg` (default: its first audio codec the worker can encode, else
 * PCMU). TypeError when that payload type is not encodable.
 */
function openLegEncoder(leg: Leg, pt: number | undefined, frameMs = leg.ptime): LegEncoder {
  if (pt === undefined) {
    pt = 0;
    for (const [p, enc] of leg.payloadMap ?? []) {
      if (enc.startsWith("TELEPHONE-EVENT") || enc.startsWith("CN/")) continue;
      if (canEncode(enc)) {
        pt = p;
        break;
      }
    }
  }
  const enc = leg.payloadMap?.get(pt) ??
    (pt === 0 ? "PCMU/8000" : pt === 8 ? "PCMA/8000" : staticEncoding(pt));
  if (enc === undefined) throw new TypeError(`cannot play into payload type ${pt}: unknown encoding`);
  const g = G711[enc];
  if (g !== undefined) return { pt, rate: 8000, tickRatio: 1, encode: g.encode, codec: null };
  const [name = "", rate] = enc.split("/");
  const f = registry.get(name, Number(rate ?? 8000));
  if (f === undefined) {
    throw new TypeError(`cannot play into payload type ${pt} (${enc}): codec not available`);
  }
  const codec = f.create({ frameMs });
  liveCodecs++;
  return {
    pt,
    rate: codec.sampleRate,
    tickRatio: codec.rtpClockRate / codec.sampleRate,
    encode: (pcm, out) => codec.encode(pcm, out),
    codec,
  };
}

function closeLegEncoder(e: LegEncoder): void {
  if (e.codec !== null) closeCodec(e.codec);
}

/** Convert mono PCM between rates once (whole buffer). */
function resampleAll(pcm: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return pcm;
  const r = new Resampler(from, to);
  try {
    const out = new Int16Array(r.maxOutput(pcm.length));
    return out.slice(0, r.process(pcm, out));
  } finally {
    r.close();
  }
}

/** Mono PCM of a WAV file (any rate/channels/G.711 format), at `rate`. Read and decoded once. */
async function loadWavFile(path: string, rate: number): Promise<Int16Array> {
  if (typeof path !== "string" || path === "") throw new TypeError("play file needs a path");
  const wav = readWav(await Deno.readFile(path));
  let mono = wav.samples;
  if (wav.channels > 1) {
    const n = Math.floor(wav.samples.length / wav.channels);
    mono = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < wav.channels; c++) sum += wav.samples[i * wav.channels + c]!;
      mono[i] = Math.round(sum / wav.channels);
    }
  }
  return resampleAll(mono, wav.sampleRate, rate);
}

async function play(replyId: number, leg: Leg, source: PlaySource, opts: PlayOptions): Promise<void> {
  let encoder: LegEncoder | null = null;
  try {
    encoder = openLegEncoder(leg, opts.payloadType);
    const rate = encoder.rate;
    let next: (frame: Int16Array, n: number) => boolean;
    if (source.kind === "tone") {
      const gen = new ToneGenerator(source.spec, {
        sampleRate: rate,
        ...(source.levelDbm0 !== undefined ? { levelDbm0: source.levelDbm0 } : {}),
      });
      let left = source.durationMs === undefined ? Infinity : Math.round(source.durationMs * rate / 1000);
      next = (frame, n) => {
        if (left <= 0 || gen.done) return false;
        const got = gen.generate(frame.subarray(0, n));
        frame.fill(0, got, n);
        left -= got;
        return got > 0;
      };
    } else {
      let samples: Int16Array;
      if (source.kind === "pcm") {
        if (!(source.samples instanceof Int16Array)) throw new TypeError("play pcm needs an Int16Array");
        const from = source.sampleRate ?? 8000;
        if (!Number.isInteger(from) || from < 8000 || from > 48000) {
          throw new RangeError(`bad PCM sample rate: ${from}`);
        }
        samples = resampleAll(source.samples, from, rate);
      } else {
        samples = await loadWavFile(source.path, rate);
      }
      if (!legs.has(leg.id)) throw new RangeError(`unknown media leg: "${leg.id}"`); // released while reading
      const loop = source.loop === true && samples.length > 0;
      let off = 0;
      next = (frame, n) => {
        if (off >= samples.length) {
          if (!loop) return false;
          off = 0;
        }
        const part = samples.subarray(off, off + n);
        frame.set(part);
        frame.fill(0, part.length, n);
        off += n;
        return true;
      };
    }
    stopPlay(leg, "replaced");
    const frameSamplesN = Math.round(rate * leg.ptime / 1000);
    leg.player = {
      replyId,
      next,
      encoder,
      frameMs: leg.ptime,
      frameSamples: frameSamplesN,
      ticks: Math.round(frameSamplesN * encoder.tickRatio),
      pt: encoder.pt,
      startMs: performance.now(),
      sent: 0,
      marker: true,
    };
    encoder = null; // owned by the player now
    tickPlayers();
    if (playTimer === undefined && leg.player !== null) playTimer = mediaInterval(tickPlayers, 10);
  } catch (err) {
    if (encoder !== null) closeLegEncoder(encoder);
    const error = err instanceof Error
      ? { name: err.name, message: err.message }
      : { name: "Error", message: String(err) };
    post({ id: replyId, ok: false, error, activeLegs: legs.size, freePorts: freePorts.size });
  }
}

const pcmFrame = new Int16Array(MAX_DECODED);

function tickPlayers(): void {
  const now = performance.now();
  let active = 0;
  for (const leg of legs.values()) {
    const p = leg.player;
    if (p === null) continue;
    // Send every frame that is due by wall time (at most 5 at once after a stall) so pacing never drifts.
    let due = Math.min(5, Math.floor((now - p.startMs) / p.frameMs) + 1 - p.sent);
    while (due-- > 0 && leg.player === p) {
      const frame = pcmFrame.subarray(0, p.frameSamples);
      if (!p.next(frame, p.frameSamples)) {
        finishPlay(leg, "done");
        break;
      }
      const buf = new Uint8Array(12 + 1500); // dgram sends asynchronously: one buffer per packet
      const bytes = p.encoder.encode(frame, buf.subarray(12));
      // The leg's own stream, shared with RFC 4733 events the box sends meanwhile.
      const out = leg.out;
      writeRtpHeader(buf, {
        payloadType: p.pt,
        sequence: out.seq,
        timestamp: out.ts,
        ssrc: out.ssrc,
        marker: p.marker,
      });
      out.ts = (out.ts + p.ticks) >>> 0;
      p.sent++;
      if (bytes <= 0) continue; // DTX
      p.marker = false;
      out.seq = (out.seq + 1) & 0xffff;
      const dest = rtpDest(leg);
      if (dest === null) leg.stats.dropped.noDestination++;
      else {
        leg.rtp.send(buf.subarray(0, 12 + bytes), dest.port, dest.address);
        leg.stats.packetsOut++;
        leg.stats.bytesOut += 12 + bytes;
      }
    }
    if (leg.player !== null) active++;
  }
  if (active === 0 && playTimer !== undefined) {
    playTimer.clear();
    playTimer = undefined;
  }
}

function finishPlay(leg: Leg, reason: "done" | "stopped" | "replaced" | "released"): void {
  const p = leg.player;
  if (p === null) return;
  leg.player = null;
  closeLegEncoder(p.encoder);
  leg.out.marker = true;
  post({
    id: p.replyId,
    ok: true,
    result: { reason, frames: p.sent },
    activeLegs: legs.size,
    freePorts: freePorts.size,
  });
  post({ event: "played", legId: leg.id, reason, frames: p.sent });
}

function stopPlay(leg: Leg, reason: "stopped" | "replaced" | "released"): boolean {
  const playing = leg.player !== null;
  finishPlay(leg, reason);
  return playing;
}

// ---- feeds: decoded audio a leg receives, for recorders and mixes ----

/**
 * A FIFO of the decoded audio one leg receives, at the consumer's rate. Filled from the leg's tap
 * decoder as packets arrive, drained by the consumer's clock (media timer), so it never holds
 * more than a few frames: an overfull FIFO drops its oldest samples (bounded latency).
 */
interface Feed {
  rate: number;
  buf: Int16Array;
  len: number;
  rs: Resampler | null;
  rsFrom: number;
  scratch: Int16Array;
}

function attachFeed(leg: Leg, rate: number): Feed {
  const f: Feed = {
    rate,
    buf: new Int16Array(rate / 2),
    len: 0,
    rs: null,
    rsFrom: 0,
    scratch: new Int16Array(0),
  };
  leg.feeds.push(f);
  return f;
}

function detachFeed(leg: Leg, f: Feed): void {
  const i = leg.feeds.indexOf(f);
  if (i >= 0) leg.feeds.splice(i, 1);
  if (f.rs !== null) {
    f.rs.close();
    liveResamplers--;
    f.rs = null;
  }
  if (leg.feeds.length === 0 && !leg.tap) closeTap(leg);
}

function pushFeed(f: Feed, pcm: Int16Array, rate: number): void {
  let src = pcm;
  if (rate !== f.rate) {
    if (f.rs === null || f.rsFrom !== rate) {
      if (f.rs !== null) f.rs.close();
      else liveResamplers++;
      f.rs = new Resampler(rate, f.rate);
      f.rsFrom = rate;
      f.scratch = new Int16Array(f.rs.maxOutput(MAX_DECODED));
    }
    src = f.scratch.subarray(0, f.rs.process(pcm, f.scratch));
  }
  if (src.length >= f.buf.length) src = src.subarray(src.length - f.buf.length);
  if (f.len + src.length > f.buf.length) {
    const drop = f.len + src.length - f.buf.length;
    f.buf.copyWithin(0, drop, f.len);
    f.len -= drop;
  }
  f.buf.set(src, f.len);
  f.len += src.length;
}

/** Take `out.length` samples (silence for what is missing); keeps at most `keep` samples queued. */
function pullFeed(f: Feed, out: Int16Array, keep: number): void {
  if (f.len > keep + out.length) {
    const drop = f.len - keep - out.length;
    f.buf.copyWithin(0, drop, f.len);
    f.len -= drop;
  }
  const k = Math.min(out.length, f.len);
  out.set(f.buf.subarray(0, k));
  out.fill(0, k);
  f.buf.copyWithin(0, k, f.len);
  f.len -= k;
}

/** The rate of the first audio codec a leg negotiated (its PCM rate when decoded). */
function legPcmRate(leg: Leg): number {
  for (const enc of leg.payloadMap?.values() ?? []) {
    if (enc.startsWith("TELEPHONE-EVENT") || enc.startsWith("CN/")) continue;
    if (G711[enc] !== undefined) return 8000;
    const [name = "", rate] = enc.split("/");
    const f = registry.get(name, Number(rate ?? 8000));
    if (f === undefined) continue;
    // G.722's RTP clock is 8000 but it carries 16 kHz; Opus decodes here at 48 kHz.
    return f.sampleRate ?? f.rtpClockRate;
  }
  return 8000;
}

// ---- recording a leg to a WAV file ----

/**
 * A recording: every 20 ms of the media clock one frame is taken from each feed (silence when
 * nothing arrived) and appended, interleaved, so the file's length is the wall-clock duration. It is
 * written to `<path>.part` and renamed to `path` when it ends: a crash leaves no half file under
 * the final name (readWav's `lenient` option reads a `.part`).
 */
interface Recorder {
  leg: Leg;
  path: string;
  tmp: string;
  writer: WavWriter | OggOpusWriter;
  rate: number;
  channels: number;
  /** Feeds and the legs they hang on (left, then right). */
  feeds: { leg: Leg; feed: Feed }[];
  frame: number;
  frames: number;
  nextDue: number;
  pending: Int16Array[];
  chain: Promise<void>;
  error: Error | null;
}

const recorders = new Set<Recorder>();

async function startRecord(
  leg: Leg,
  path: string,
  o: { stereo?: boolean; mixed?: boolean; sampleRate?: number; format?: "wav" | "opus" },
): Promise<{ path: string; sampleRate: number; channels: number }> {
  if (typeof path !== "string" || path === "") throw new TypeError("record needs a file path");
  if (leg.recorder !== null) throw new RangeError(`leg "${leg.id}" is already recording`);
  const rate = o.sampleRate ?? (legPcmRate(leg) > 8000 ? 16000 : 8000);
  if (![8000, 16000, 32000, 48000].includes(rate)) throw new RangeError(`bad recording sample rate: ${rate}`);
  const channels = o.stereo === true ? 2 : 1;
  const tmp = `${path}.part`;
  const format = o.format ?? "wav";
  if (format !== "wav" && format !== "opus") throw new RangeError(`recording format must be wav or opus`);
  if (format === "opus" && rate === 32000) throw new RangeError("an Opus recording is 8, 16 or 48 kHz");
  const writer = format === "opus"
    ? await OggOpusWriter.create(tmp, { sampleRate: rate, channels })
    : await WavWriter.create(tmp, { sampleRate: rate, channels });
  if (!legs.has(leg.id) || leg.recorder !== null) {
    await writer.close();
    await Deno.remove(tmp).catch(() => {});
    throw new RangeError(`leg "${leg.id}" went away or started another recording`);
  }
  const feeds = [{ leg, feed: attachFeed(leg, rate) }];
  const both = channels === 2 || o.mixed === true;
  if (both && leg.peer !== null) feeds.push({ leg: leg.peer, feed: attachFeed(leg.peer, rate) });
  const r: Recorder = {
    leg,
    path,
    tmp,
    writer,
    rate,
    channels,
    feeds,
    frame: rate / 50,
    frames: 0,
    nextDue: performance.now() + 20,
    pending: [],
    chain: Promise.resolve(),
    error: null,
  };
  leg.recorder = r;
  recorders.add(r);
  ensureMediaTimer();
  return { path, sampleRate: rate, channels };
}

const recLeft = new Int16Array(960);
const recRight = new Int16Array(960);

function tickRecorder(r: Recorder, now: number): void {
  let steps = 0;
  while (now >= r.nextDue && steps++ < 10) {
    const l = recLeft.subarray(0, r.frame);
    const rt = recRight.subarray(0, r.frame);
    pullFeed(r.feeds[0]!.feed, l, r.frame * 3);
    const out = new Int16Array(r.frame * r.channels);
    const other = r.feeds[1];
    if (r.channels === 1 && other === undefined) out.set(l);
    else if (r.channels === 1) {
      // Mixed: both directions in one channel.
      pullFeed(other!.feed, rt, r.frame * 3);
      for (let i = 0; i < r.frame; i++) {
        const v = l[i]! + rt[i]!;
        out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
    } else {
      const right = r.feeds[1];
      if (right !== undefined) pullFeed(right.feed, rt, r.frame * 3);
      else rt.fill(0);
      for (let i = 0; i < r.frame; i++) {
        out[2 * i] = l[i]!;
        out[2 * i + 1] = rt[i]!;
      }
    }
    r.pending.push(out);
    r.frames++;
    r.nextDue += 20;
  }
  if (now - r.nextDue > 200) r.nextDue = now; // after a stall
  if (r.pending.length >= 25) flushRecorder(r);
}

function flushRecorder(r: Recorder): void {
  if (r.pending.length === 0) return;
  const n = r.pending.reduce((a, b) => a + b.length, 0);
  const chunk = new Int16Array(n);
  let off = 0;
  for (const p of r.pending) {
    chunk.set(p, off);
    off += p.length;
  }
  r.pending = [];
  r.chain = r.chain.then(() => r.error === null ? r.writer.write(chunk) : undefined).catch((e) => {
    r.error = e instanceof Error ? e : new Error(String(e));
  });
}

async function stopRecord(leg: Leg, reason: "stopped" | "released"): Promise<unknown> {
  const r = leg.recorder;
  if (r === null) return null;
  leg.recorder = null;
  recorders.delete(r);
  for (const { leg: l, feed } of r.feeds) detachFeed(l, feed);
  flushRecorder(r);
  await r.chain;
  let failed = r.error;
  try {
    await r.writer.close();
    if (failed === null) await Deno.rename(r.tmp, r.path);
  } catch (e) {
    failed = e instanceof Error ? e : new Error(String(e));
  }
  const result = {
    path: failed === null ? r.path : r.tmp,
    reason: failed === null ? reason : "error" as const,
    durationMs: r.frames * 20,
    sampleRate: r.rate,
    channels: r.channels,
  };
  post({ event: "recorded", legId: leg.id, ...result });
  if (failed !== null) throw new Error(`recording ${r.path} failed: ${failed.message}`);
  return result;
}

// ---- mixing bridges (3+ legs) ----

/** One participant of a mix: what it receives, and its own encoder toward it. */
interface MixPart {
  feed: Feed;
  enc: LegEncoder;
  in: Int16Array;
  rs: Resampler | null;
  resampled: Int16Array;
  /** Exactly 20 ms at the encoder's rate (a streaming resampler may give a sample more or less). */
  encFrame: Int16Array;
  ticks: number;
  /** Muted: heard by nobody (still hears the others). */
  muted: boolean;
  /** The legs (ids) this participant hears; null: everyone but itself. */
  hears: Set<string> | null;
  /** Voice activity (talkEvents): the state last posted. */
  talking: boolean;
  /** Frames the level has been on the other side of the threshold (hysteresis). */
  flip: number;
}

/**
 * A mixing bridge: every 20 ms of the media clock each participant's received audio (decoded,
 * resampled to the mix rate) is summed, and each participant is sent the sum minus its own audio,
 * encoded in its own codec on its own stream (the box's SSRC toward it). The mix runs at 16 kHz
 * when any participant's codec is wideband, else 8 kHz.
 */
interface MixBridge {
  id: string;
  rate: number;
  frame: number;
  mixer: Mixer<Leg>;
  parts: Map<Leg, MixPart>;
  nextDue: number;
  out: Int16Array;
  endWhenEmpty: boolean;
  talkEvents: boolean;
}

const mixes = new Map<string, MixBridge>();

function getMix(id: string): MixBridge {
  const m = mixes.get(id);
  if (m === undefined) throw new RangeError(`unknown mix: "${id}"`);
  return m;
}

function makeMix(
  id: string,
  members: Leg[],
  o: MixOptions,
): { mixId: string; sampleRate: number; participants: string[] } {
  if (typeof id !== "string" || id === "") throw new TypeError("mix needs an id");
  if (mixes.has(id)) throw new RangeError(`mix "${id}" exists`);
  if (new Set(members).size !== members.length) throw new RangeError("a leg is listed twice in the mix");
  if (o.sampleRate !== undefined && ![8000, 16000, 48000].includes(o.sampleRate)) {
    throw new RangeError(`mix rate must be 8000, 16000 or 48000, got ${o.sampleRate}`);
  }
  const rate = o.sampleRate ?? (members.some((l) => legPcmRate(l) > 8000) ? 16000 : 8000);
  const frame = rate / 50;
  const m: MixBridge = {
    id,
    rate,
    frame,
    mixer: new Mixer<Leg>({ frameSize: frame }),
    parts: new Map(),
    nextDue: performance.now() + 20,
    out: new Int16Array(frame),
    endWhenEmpty: o.endWhenEmpty === true,
    talkEvents: o.talkEvents === true,
  };
  mixes.set(id, m);
  try {
    for (const leg of members) addToMix(m, leg);
  } catch (err) {
    endMix(m);
    throw err;
  }
  ensureMediaTimer();
  return { mixId: id, sampleRate: rate, participants: members.map((l) => l.id) };
}

function addToMix(m: MixBridge, leg: Leg): boolean {
  if (leg.mix === m) return false;
  const enc = openLegEncoder(leg, undefined, 20);
  if (leg.mix !== null) removeFromMix(leg.mix, leg);
  unbridge(leg);
  let rs: Resampler | null = null;
  if (enc.rate !== m.rate) {
    rs = new Resampler(m.rate, enc.rate);
    liveResamplers++;
  }
  m.parts.set(leg, {
    feed: attachFeed(leg, m.rate),
    enc,
    in: new Int16Array(m.frame),
    rs,
    resampled: new Int16Array(rs === null ? 0 : rs.maxOutput(m.frame)),
    encFrame: new Int16Array(enc.rate / 50),
    ticks: Math.round(enc.rate / 50 * enc.tickRatio),
    muted: false,
    hears: null,
    talking: false,
    flip: 0,
  });
  m.mixer.add(leg);
  leg.mix = m;
  return true;
}

function removeFromMix(m: MixBridge, leg: Leg): void {
  const p = m.parts.get(leg);
  if (p === undefined) return;
  m.parts.delete(leg);
  m.mixer.remove(leg);
  detachFeed(leg, p.feed);
  closeLegEncoder(p.enc);
  if (p.rs !== null) {
    p.rs.close();
    liveResamplers--;
  }
  leg.mix = null;
  leg.out.marker = true;
  if (m.talkEvents && p.talking) post({ event: "talking", legId: leg.id, mixId: m.id, talking: false });
  if (m.endWhenEmpty && m.parts.size === 0) mixes.delete(m.id);
}

function endMix(m: MixBridge): boolean {
  for (const leg of [...m.parts.keys()]) removeFromMix(m, leg);
  return mixes.delete(m.id);
}

const mixPacket = new Uint8Array(12 + 1500);

/** Mean-square level of -40 dBFS-ish; a frame above it is speech, below it silence (or comfort noise). */
const TALK_LEVEL = 330 * 330;
/** Frames (20 ms) a level must stay across the threshold before the state flips: 60 ms on, 400 ms off. */
const TALK_ON_FRAMES = 3;
const TALK_OFF_FRAMES = 20;

/** Update a participant's voice activity from this round's frame; post only a change. */
function voiceActivity(m: MixBridge, leg: Leg, p: MixPart): void {
  let e = 0;
  const f = p.in;
  for (let i = 0; i < f.length; i++) e += f[i]! * f[i]!;
  const loud = !p.muted && e / f.length > TALK_LEVEL;
  if (loud === p.talking) {
    p.flip = 0;
    return;
  }
  if (++p.flip < (loud ? TALK_ON_FRAMES : TALK_OFF_FRAMES)) return;
  p.flip = 0;
  p.talking = loud;
  post({ event: "talking", legId: leg.id, mixId: m.id, talking: loud });
}

/** The participants of `m` whose ids are in `ids` (a restricted listener's sources). */
function hearable(m: MixBridge, ids: Set<string>): Leg[] {
  const out: Leg[] = [];
  for (const leg of m.parts.keys()) if (ids.has(leg.id)) out.push(leg);
  return out;
}

function tickMix(m: MixBridge, now: number): void {
  let steps = 0;
  while (now >= m.nextDue && steps++ < 5) {
    m.nextDue += 20;
    for (const [leg, p] of m.parts) {
      pullFeed(p.feed, p.in, m.frame * 3);
      if (m.talkEvents) voiceActivity(m, leg, p);
      if (!p.muted) m.mixer.put(leg, p.in);
    }
    for (const [leg, p] of m.parts) {
      let pcm = p.hears === null ? m.mixer.mixFor(leg, m.out) : m.mixer.mixOf(hearable(m, p.hears), m.out);
      if (p.rs !== null) {
        const got = p.rs.process(pcm, p.resampled);
        const n = Math.min(got, p.encFrame.length);
        p.encFrame.set(p.resampled.subarray(0, n));
        p.encFrame.fill(n > 0 ? p.encFrame[n - 1]! : 0, n);
        pcm = p.encFrame;
      }
      const ts = leg.out.ts;
      leg.out.ts = (leg.out.ts + p.ticks) >>> 0;
      if (leg.player !== null) continue; // a prompt owns the leg's stream meanwhile
      const bytes = p.enc.encode(pcm, mixPacket.subarray(12));
      if (bytes <= 0) continue;
      writeRtpHeader(mixPacket, {
        payloadType: p.enc.pt,
        sequence: leg.out.seq,
        timestamp: ts,
        ssrc: leg.out.ssrc,
        marker: leg.out.marker,
      });
      leg.out.marker = false;
      leg.out.seq = (leg.out.seq + 1) & 0xffff;
      const dest = rtpDest(leg);
      if (dest === null) continue;
      // Copy: the native path sends at once, dgram later.
      const pkt = mixPacket.slice(0, 12 + bytes);
      leg.rtp.send(pkt, dest.port, dest.address);
      leg.stats.packetsOut++;
      leg.stats.bytesOut += pkt.length;
    }
    m.mixer.nextRound();
  }
  if (now - m.nextDue > 200) m.nextDue = now;
}

async function closeAll(): Promise<void> {
  for (const m of [...mixes.values()]) endMix(m);
  await Promise.all(
    [...legs.values()].filter((l) => l.recorder !== null).map((l) =>
      stopRecord(l, "released").catch(() => {})
    ),
  );
  playTimer?.clear();
  playTimer = undefined;
  mediaTimer?.clear();
  mediaTimer = undefined;
  inactivityTimer?.clear();
  inactivityTimer = undefined;
  await Promise.all([...legs.values()].map((l) => release(l)));
}
