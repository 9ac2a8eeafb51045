/**
 * The codec contracts the media plane works against. PCM is 16-bit signed, interleaved when
 * `channels > 1` (every codec here produces mono PCM).
 *
 * @module
 */

/** One encoder + decoder pair for one RTP stream. Not thread-safe; one per call leg direction pair. */
export interface AudioCodec {
  /** SDP encoding name, e.g. "opus", "G722", "PCMU". */
  readonly name: string;
  /** RTP timestamp rate (8000 for G.722, 48000 for Opus). */
  readonly rtpClockRate: number;
  /** PCM rate `encode` takes and `decode` produces. */
  readonly sampleRate: number;
  /** PCM channels (1 for every codec here, even Opus whose SDP says 2). */
  readonly channels: number;
  /** Packet duration `encode` expects by default (the ptime). */
  readonly frameMs: number;
  /**
   * Encode `frameMs` of PCM (`frameSamples(codec)` samples) into `out`; returns payload bytes.
   * 0 means "send nothing" (DTX/VAD silence). Throws RangeError on a bad PCM length.
   */
  encode(pcm: Int16Array, out: Uint8Array): number;
  /** Decode one RTP payload into `out`; returns samples written. Throws RangeError on bad input. */
  decode(payload: Uint8Array, out: Int16Array): number;
  /** Synthesize one lost packet (`frameMs`) into `out`; returns samples written. */
  conceal?(out: Int16Array): number;
  /** Free native state; the codec is unusable afterwards. Idempotent. */
  close(): void;
}

/** Options when creating a codec instance. Unknown fmtp parameters are ignored. */
export interface CodecOptions {
  /** Packet duration in ms (ptime); default per codec (20). */
  frameMs?: number;
  /** The negotiated fmtp line (e.g. "useinbandfec=1; maxaveragebitrate=24000", "annexb=no"). */
  fmtp?: string;
  /** Opus: internal PCM rate (8000, 16000, 48000; default 16000). */
  sampleRate?: number;
  /** Opus: target bit rate in bit/s. */
  bitrate?: number;
  /** Opus: complexity 0..10 (default 5). */
  complexity?: number;
  /** Opus: in-band FEC (default from fmtp useinbandfec, else true). */
  fec?: boolean;
  /** Opus: expected loss percent for FEC (default 5). */
  packetLossPerc?: number;
  /** Opus: DTX (default from fmtp usedtx, else false). */
  dtx?: boolean;
  /** G.729: Annex B VAD/DTX (default from fmtp annexb=yes, else false). */
  vad?: boolean;
}

/** A codec type the box can offer in SDP and instantiate. */
export interface CodecFactory {
  /** SDP encoding name ("opus", "G722", "G729", "G726-32", "PCMU", "PCMA"). */
  readonly name: string;
  /** RTP clock rate as written in a=rtpmap. */
  readonly rtpClockRate: number;
  /** PCM rate of instances (Opus: the default internal rate). */
  readonly sampleRate: number;
  /** Channels as written in a=rtpmap (2 for opus, else 1). */
  readonly channels: number;
  /** Static RTP payload type when one is assigned (PCMU 0, PCMA 8, G722 9, G729 18). */
  readonly staticPayloadType?: number;
  /** fmtp parameters the box offers (e.g. "minptime=10;useinbandfec=1"). */
  readonly fmtp?: string;
  /** True when the backing library loaded; only these are advertised. */
  available(): boolean;
  /** A new codec instance; throws Error naming the missing library when unavailable. */
  create(options?: CodecOptions): AudioCodec;
}

/** Samples per channel in one `frameMs` packet of `codec`. */
export function frameSamples(codec: Pick<AudioCodec, "sampleRate" | "frameMs">): number {
  return Math.round(codec.sampleRate * codec.frameMs / 1000);
}

/** Parse "a=1; b=x" fmtp parameters into a lower-cased key map (values keep their case). */
export function parseFmtp(fmtp: string | undefined): Map<string, string> {
  const params = new Map<string, string>();
  if (fmtp === undefined) return params;
  for (const part of fmtp.split(";")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) params.set(item.toLowerCase(), "");
    else params.set(item.slice(0, eq).trim().toLowerCase(), item.slice(eq + 1).trim());
  }
  return params;
}
