/**
 * Messages between MediaPlane (main thread) and the media worker. Every command gets exactly one
 * reply carrying the same id; events flow from the worker unprompted.
 */
import type { LatchOptions } from "./_latch.ts";

/** Options for MediaPlane.start. */
export interface MediaPlaneOptions {
  /** Local address to bind RTP/RTCP sockets to, e.g. "0.0.0.0" or "127.0.0.1". */
  bind: string;
  /** Lowest RTP port (rounded up to even). */
  portMin: number;
  /** Highest port usable (RTCP of the last pair must not exceed it). */
  portMax: number;
  /** Address to advertise in SDP; defaults to `bind`. */
  publicAddress?: string;
  /** Symmetric RTP latching tunables. */
  latch?: LatchOptions;
  /**
   * How the worker's native poll loop waits (overrides PBX_MEDIA_POLL; see
   * runtime/media/relay/_udp.ts): "sync" blocks the worker's own thread in epoll_wait, "thread"
   * waits on Deno's helper threads, "paced" polls from a 1 ms timer.
   */
  poll?: "sync" | "thread" | "paced";
  /**
   * RTP inactivity timeout in ms (0 or absent: off). A leg in use (a remote, a bridge, a mix or a
   * tap) that receives neither RTP nor RTCP for this long is reported with an "inactive" event, and
   * again after every further timeout of silence. Configure, bridge and tap restart the count.
   */
  rtpTimeoutMs?: number;
}

/** Where a leg's peer said (in SDP) it receives media. */
export interface RemoteEndpoint {
  address: string;
  port: number;
  /** Defaults to port + 1 (RFC 3550); set it for a=rtcp, or equal to port for rtcp-mux. */
  rtcpPort?: number;
}

/**
 * Payload types negotiated on a leg: PT -> "encoding/clockrate" as in a=rtpmap, e.g.
 * `{0: "PCMU/8000", 8: "PCMA/8000", 101: "telephone-event/8000"}`. Names compare case-insensitively.
 */
export type PayloadMap = Record<number, string>;

/** Leg configuration (all fields optional; omitted fields keep their value). */
export interface LegConfig {
  remote?: RemoteEndpoint;
  payloadMap?: PayloadMap;
  /** Send to the source of received packets (default true). */
  latching?: boolean;
  /** Packet duration in ms this leg's peer uses (a=ptime); sizes transcoded packets. Default 20. */
  ptime?: number;
  /**
   * Look for in-band DTMF in what this leg receives. Default: on when the leg has a payload map
   * without telephone-event (the peer can only send tones in the audio).
   */
  detectInband?: boolean;
  /**
   * Whether RFC 4733 digits from the bridged peer are written into this leg's audio as tones when
   * this leg has no telephone-event (default true). false: the signalling carries them (a SIP INFO
   * trunk). `sendDtmf` toward the leg still plays tones.
   */
  injectDtmf?: boolean;
  /**
   * Open a relatch window even though the remote address did not change (e.g. on every re-INVITE).
   * A new remote address always opens one. See runtime/media/relay/_latch.ts.
   */
  relatch?: boolean;
  /**
   * Strict source check (SRTP legs): once the relatch window has closed, the leg never moves to
   * another source (not even a NAT rebind with the same SSRC) until the signalling resets it.
   */
  strictSource?: boolean;
  /**
   * SRTP/SRTCP (SDES or DTLS-SRTP keys) on this leg: what it receives is unprotected with
   * `recvKey`, what the box sends it is protected with `sendKey` (each the master key followed by
   * the master salt). null turns it off. A direction whose suite and key did not change keeps its
   * session (its rollover counter). Keys are never logged.
   */
  srtp?: SrtpLegConfig | null;
  /**
   * DTLS-SRTP (RFC 5763/5764) on this leg: the box runs a DTLS `role` ("server" when it answered
   * a=setup:passive) with its certificate (MediaPlane.setDtlsIdentity) on the RTP port, checks the
   * peer's certificate against `peerFingerprint` (SHA-256, "AB:CD:...", from the peer's SDP) and
   * keys SRTP from the handshake. With `ice`, the leg is an ICE-lite agent: it answers STUN Binding
   * requests with those credentials and stops sending 30 s after the last one (consent freshness,
   * RFC 7675). `rtcpMux`: RTCP shares the RTP port. null turns it off.
   */
  dtls?: DtlsLegConfig | null;
}

/** DTLS-SRTP and ICE-lite of one leg (see LegConfig.dtls). */
export interface DtlsLegConfig {
  role: "client" | "server";
  peerFingerprint: string;
  ice?: { localUfrag: string; localPwd: string };
  rtcpMux?: boolean;
}

/** SRTP keys of one leg (see LegConfig.srtp). */
export interface SrtpLegConfig {
  /** drivers/srtp suite name, e.g. "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_256_GCM". */
  suite: string;
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  /** Replay window in packets (default libsrtp's 128). */
  replayWindow?: number;
}

/** One side of a transcoding step: codec name (as in PayloadMap) and its payload type. */
export interface CodecRef {
  codec: string;
  pt: number;
  /** The negotiated fmtp (Opus bit rate and FEC, G.729 annexb). */
  fmtp?: string;
  /** Packet duration in ms; default the leg's ptime, else 20. */
  ptime?: number;
}

/** Transcode packets of `from` arriving on one leg to `to` on the other. */
export interface TranscodeSpec {
  from: CodecRef;
  to: CodecRef;
}

/**
 * Bridge options. Packets whose encoding the other leg also negotiated are forwarded untouched
 * (payload type rewritten if the numbers differ), packet by packet. `transcode` routes one payload
 * type through the codec registry instead: jitter buffer with loss concealment, decode, resample,
 * encode, paced by the worker's monotonic clock (one packet per ptime). PCMU<->PCMA is a table
 * lookup done per packet. A codec whose library did not load is a TypeError.
 */
export interface BridgeOptions {
  transcode?: { aToB?: TranscodeSpec; bToA?: TranscodeSpec };
}

/** Per-leg counters and state. */
export interface LegStats {
  legId: string;
  rtpPort: number;
  rtcpPort: number;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  rtcpIn: number;
  rtcpOut: number;
  /** Packets dropped: malformed, from a non-latched source, with no route or no destination. */
  dropped: {
    invalid: number;
    rejectedSource: number;
    noRoute: number;
    noDestination: number;
    /** SRTP/SRTCP packets that failed to unprotect (wrong key, forged, replayed), or plain ones on an SRTP leg. */
    srtp: number;
  };
  /** The SRTP suite of the leg, null when it is plain RTP. */
  srtp: string | null;
  /** Where this leg currently sends RTP (latched source), null before the first packet. */
  latched: { address: string; port: number } | null;
  latchedSsrc: number | null;
  /** Unix epoch ms of the last RTP packet received, null if none. */
  lastPacketAt: number | null;
  remote: RemoteEndpoint | null;
  bridgedTo: string | null;
}

/** A leg just allocated. */
export interface AllocatedLeg {
  legId: string;
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

/** Audio to play into a leg. */
export type PlaySource =
  | { kind: "tone"; spec: string; durationMs?: number; levelDbm0?: number }
  | { kind: "pcm"; samples: Int16Array; sampleRate?: number; loop?: boolean }
  | { kind: "file"; path: string; loop?: boolean };

/** Options for playing into a leg. */
export interface PlayOptions {
  /**
   * Payload type to send; defaults to the leg's first audio codec the worker can encode (G.711 or
   * a registry codec: G.722, Opus, ...), else 0 (PCMU).
   */
  payloadType?: number;
}

/** Options for recording a leg. */
export interface RecordOptions {
  /**
   * Two channels: left what the leg receives, right what its bridge partner (or mix) receives,
   * i.e. the other direction of a two-party call. Default mono (what the leg receives).
   */
  stereo?: boolean;
  /** One channel holding both directions summed (saturated): a mixed recording of the call. */
  mixed?: boolean;
  /** WAV sample rate; default 16000 when the leg's codec is wideband, else 8000. */
  sampleRate?: number;
  /** `wav` (default, PCM16) or `opus`: an Ogg Opus file (RFC 7845; 8, 16 or 48 kHz). */
  format?: "wav" | "opus";
}

/** How a recording ended. */
export interface RecordResult {
  path: string;
  reason: "stopped" | "released" | "error";
  durationMs: number;
  sampleRate: number;
  channels: number;
}

/** Options of a mixing bridge. */
export interface MixOptions {
  /**
   * Mix rate: 8000, 16000 or 48000. Default 16000 when a first participant is wideband, else 8000
   * (a conference room sets 16000 so later wideband participants keep their band).
   */
  sampleRate?: number;
  /** End the mix by itself when its last participant leaves (conference rooms). */
  endWhenEmpty?: boolean;
  /** Post "talking" events for this mix (a participant's voice activity changed). */
  talkEvents?: boolean;
}

/** Commands sent to the worker. */
export type Command =
  | { op: "init"; options: MediaPlaneOptions }
  | { op: "allocate" }
  | { op: "configure"; legId: string; config: LegConfig }
  | { op: "bridge"; a: string; b: string; options: BridgeOptions }
  | { op: "unbridge"; legId: string }
  | { op: "release"; legId: string }
  | { op: "stats"; legId: string }
  | { op: "play"; legId: string; source: PlaySource; options: PlayOptions }
  | { op: "stopPlay"; legId: string }
  | { op: "tap"; legId: string; on: boolean }
  | { op: "dtmf"; legId: string; digit: string; durationMs: number }
  | { op: "record"; legId: string; path: string; options: RecordOptions }
  | { op: "stopRecord"; legId: string }
  | { op: "mix"; mixId: string; legIds: string[]; options?: MixOptions }
  | { op: "addToMix"; mixId: string; legId: string; create?: MixOptions }
  | { op: "muteInMix"; mixId: string; legId: string; muted: boolean }
  | { op: "hearInMix"; mixId: string; legId: string; hears: string[] | null }
  | { op: "removeFromMix"; mixId: string; legId: string }
  | { op: "endMix"; mixId: string }
  | { op: "resources" }
  | { op: "dtlsIdentity"; certPem?: string; keyPem?: string }
  | { op: "close" };

/**
 * A command with its correlation id; `woken` when the sender also signalled the worker's poll-loop
 * eventfd for it (see MediaPlane, _udp.ts commandArrived).
 */
export type Request = Command & { id: number; woken?: boolean };

/** The worker's reply to one request. */
export type Reply =
  & { id: number; activeLegs: number; freePorts: number }
  & ({ ok: true; result: unknown } | { ok: false; error: { name: string; message: string } });

/**
 * Unprompted worker events: a DTMF digit received as RFC 4733 (on its end packet), decoded audio
 * from a tapped leg (one frame per RTP packet, or a concealed frame for a lost one, as mono PCM at
 * the codec's own rate: 8000 for G.711, 16000 for G.722, 48000 for Opus; `receivedAt` is the
 * epoch ms the packet arrived, or when a lost one was concealed), latching changes, and legs silent
 * longer than the RTP timeout ("inactive", see MediaPlaneOptions.rtpTimeoutMs).
 */
export type MediaEvent =
  | { event: "dtmf"; legId: string; digit: string; durationMs: number; source?: "rfc4733" | "inband" }
  | {
    event: "audio";
    legId: string;
    pcm: Int16Array;
    sampleRate: number;
    timestamp: number;
    receivedAt: number;
  }
  | { event: "latched"; legId: string; address: string; port: number }
  | { event: "inactive"; legId: string; silentMs: number }
  /** A leg's DTLS-SRTP handshake finished (`suite` keyed) or failed (`error`, e.g. a fingerprint mismatch). */
  | { event: "dtls"; legId: string; suite?: string; error?: string }
  /** Packets on an SRTP leg failed to unprotect: posted for the first and then every 1000th. */
  | { event: "srtpError"; legId: string; status: string; rtcp: boolean; dropped: number }
  | { event: "played"; legId: string; reason: "done" | "stopped" | "replaced" | "released"; frames: number }
  | ({ event: "recorded"; legId: string } & RecordResult)
  /**
   * Voice activity of a mix participant changed (mixes with `talkEvents`): posted on change only,
   * with hysteresis, never per frame.
   */
  | { event: "talking"; legId: string; mixId: string; talking: boolean };

/** A codec the worker can transcode (its library loaded), as SDP describes it. */
export interface CodecInfo {
  name: string;
  clockRate: number;
  channels: number;
  staticPayloadType?: number;
  fmtp?: string;
}

/** How sendDtmf delivered a digit: RFC 4733 events, tones written into the audio, or not at all. */
export type DtmfDelivery = "rfc4733" | "inband" | "none";

/** Native and timer resources the worker holds (leak checks). */
export interface MediaResources {
  legs: number;
  codecs: number;
  resamplers: number;
  transcodeDirections: number;
  /** Recordings in progress. */
  recorders: number;
  /** Mixing bridges. */
  mixes: number;
  timer: boolean;
}

/** Any message from the worker. */
export type WorkerMessage = Reply | MediaEvent;
