/**
 * Interfaces the call layer needs from below (media plane, storage) and offers above (live status).
 * The appliance wires concrete implementations to them.
 */
import type { CdrRecord, Disposition } from "../storage/mod.ts";

/** One RTP/RTCP port pair anchored at the box. */
export interface MediaLeg {
  legId: string;
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

/** A codec the media plane can transcode, as SDP describes it. */
export interface MediaCodec {
  name: string;
  clockRate: number;
  channels: number;
  staticPayloadType?: number;
  fmtp?: string;
}

/** One direction of a transcoding bridge: codec "name/rate" and payload type on each side. */
export interface MediaTranscode {
  from: { codec: string; pt: number; fmtp?: string; ptime?: number };
  to: { codec: string; pt: number; fmtp?: string; ptime?: number };
}

/** Events the media plane reports; the call layer uses the DTMF digits. */
export type MediaPortEvent =
  | { event: "dtmf"; legId: string; digit: string; durationMs: number; source?: "rfc4733" | "inband" }
  | { event: string; legId: string };

/** What the call layer asks of the media plane (runtime/media/relay's MediaPlane satisfies it). */
export interface MediaPort {
  allocateLeg(): Promise<MediaLeg>;
  configureLeg(
    legId: string,
    config: {
      remote?: { address: string; port: number; rtcpPort?: number } | undefined;
      /** PT -> "name/rate" negotiated on this leg. */
      payloadMap?: Record<number, string>;
      /** a=ptime of this leg's peer. */
      ptime?: number;
      /** false: the bridged peer's RFC 4733 digits are not written into this leg's audio (SIP INFO trunks). */
      injectDtmf?: boolean;
      /** SRTP keys of this leg (SDES), null for plain RTP; omitted: unchanged. */
      srtp?: { suite: string; sendKey: Uint8Array; recvKey: Uint8Array; replayWindow?: number } | null;
      /** DTLS-SRTP (and ICE-lite) on this leg, null to stop; omitted: unchanged. */
      dtls?: {
        role: "client" | "server";
        peerFingerprint: string;
        ice?: { localUfrag: string; localPwd: string };
        rtcpMux?: boolean;
      } | null;
    },
  ): Promise<void>;
  /** The box's DTLS certificate fingerprint (SHA-256), null or absent: no DTLS-SRTP. */
  dtlsFingerprint?(): string | null;
  bridge(
    legA: string,
    legB: string,
    options?: { transcode?: { aToB?: MediaTranscode; bToA?: MediaTranscode } },
  ): Promise<void>;
  releaseLeg(legId: string): Promise<void>;
  /** Codecs it can transcode; absent or empty means pass-through only (SDP offers A's codecs as they are). */
  codecs?(): MediaCodec[];
  /** Send a DTMF digit toward a leg (RFC 4733 or in-band, whichever the leg takes). */
  sendDtmf?(legId: string, digit: string, durationMs: number): Promise<"rfc4733" | "inband" | "none">;
  /** Subscribe to media events; returns an unsubscribe function. */
  on?(listener: (ev: MediaPortEvent) => void): () => void;
}

/** How a call ended, as written to the call records (the storage layer's set). */
export type { Disposition };

/** One finished call as the call layer hands it to the CDR store: every figure filled in. */
export type CallRecord = CdrRecord & {
  durationMs: number;
  billsecMs: number;
  hangupBy: NonNullable<CdrRecord["hangupBy"]>;
  sipCode: number;
};

/** Where finished calls go. */
export interface CallRecordSink {
  insert(record: CallRecord): void;
}

/** A live call for the API and the dashboard. */
export interface LiveCall {
  id: string;
  caller: string;
  callee: string;
  state: "dialing" | "ringing" | "answered";
  startedAt: number;
  answeredAt?: number;
  /** The trunk the call came in from or goes out of. */
  trunk?: string;
  /**
   * The SIP dialogs of the two sides as the box holds them (RFC 4235 dialog-info call-id and tags, so
   * a watcher can build a Replaces for BLF pickup): the caller's and, once the box rings it, the
   * callee's. `phoneTag` is the phone's own tag (absent until it sent one).
   */
  callerDialog?: SideDialog;
  calleeDialog?: SideDialog;
}

/** One side's SIP dialog: its Call-ID, the box's tag and the phone's. */
export interface SideDialog {
  callId: string;
  boxTag: string;
  phoneTag?: string;
}
