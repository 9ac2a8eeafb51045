/**
 * WAV (RIFF/WAVE) reading and writing: PCM 16-bit, G.711 mu-law (format 7) and A-law (format 6),
 * WAVE_FORMAT_EXTENSIBLE. The reader walks chunks with bounds checks on every read and throws
 * SyntaxError (bad structure) or RangeError (bad sizes/values) instead of over-reading.
 */
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from "../g711/g711.ts";

/** Sample encodings supported. */
export type WavFormat = "pcm16" | "mulaw" | "alaw";

/** A decoded WAV file. */
export interface WavData {
  format: WavFormat;
  sampleRate: number;
  channels: number;
  /** Samples decoded to 16-bit PCM, interleaved. */
  samples: Int16Array;
}

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(b: Uint8Array, off: number): string {
  return String.fromCharCode(b[off]!, b[off + 1]!, b[off + 2]!, b[off + 3]!);
}

/** Options for readWav. */
export interface ReadWavOptions {
  /**
   * Accept a data chunk whose declared size is 0 or runs past the end of the file (as left by a recorder
   * that died before fixing the header) by reading what is there. Default false: a size past the end is
   * a RangeError and a size of 0 is an empty file.
   */
  lenient?: boolean;
}

/** Parse a WAV file. Throws SyntaxError/RangeError naming the problem. */
export function readWav(bytes: Uint8Array, options: ReadWavOptions = {}): WavData {
  if (bytes.length < 12) throw new SyntaxError(`not a WAV file: only ${bytes.length} bytes`);
  if (fourcc(bytes, 0) !== "RIFF" || fourcc(bytes, 8) !== "WAVE") {
    throw new SyntaxError(`not a WAV file: header is "${fourcc(bytes, 0)}...${fourcc(bytes, 8)}"`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: { tag: number; channels: number; sampleRate: number; blockAlign: number; bits: number } | null =
    null;
  let off = 12;
  while (off + 8 <= bytes.length) {
    const id = fourcc(bytes, off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === "fmt ") {
      if (size < 16) throw new SyntaxError(`fmt chunk too small: ${size} bytes (need 16)`);
      if (body + size > bytes.length) {
        throw new RangeError(`fmt chunk claims ${size} bytes, only ${bytes.length - body} remain`);
      }
      let tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const blockAlign = view.getUint16(body + 12, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === FORMAT_EXTENSIBLE) {
        if (size < 40) {
          throw new SyntaxError(`WAVE_FORMAT_EXTENSIBLE fmt chunk too small: ${size} bytes (need 40)`);
        }
        const cb = view.getUint16(body + 16, true);
        if (cb < 22) throw new SyntaxError(`WAVE_FORMAT_EXTENSIBLE cbSize too small: ${cb} (need 22)`);
        tag = view.getUint16(body + 24, true); // first two bytes of the SubFormat GUID
      }
      if (tag !== FORMAT_PCM && tag !== FORMAT_ALAW && tag !== FORMAT_MULAW) {
        throw new RangeError(`unsupported WAV format tag: ${tag}`);
      }
      if (channels === 0) throw new RangeError("WAV has 0 channels");
      if (sampleRate === 0) throw new RangeError("WAV has sample rate 0");
      const wantBits = tag === FORMAT_PCM ? 16 : 8;
      if (bits !== wantBits) {
        throw new RangeError(`unsupported bits per sample for format ${tag}: ${bits} (need ${wantBits})`);
      }
      if (blockAlign !== channels * bits / 8) {
        throw new RangeError(
          `bad block align: ${blockAlign} (expected ${channels * bits / 8} for ${channels} x ${bits} bits)`,
        );
      }
      fmt = { tag, channels, sampleRate, blockAlign, bits };
    } else if (id === "data") {
      if (fmt === null) throw new SyntaxError("WAV data chunk comes before the fmt chunk");
      let len = size;
      if (size === 0 && options.lenient && bytes.length > body) {
        // A recorder that died before finalizing left its placeholder size of 0: take what is there.
        len = bytes.length - body;
      } else if (body + size > bytes.length) {
        if (!options.lenient) {
          throw new RangeError(
            `WAV data chunk claims ${size} bytes, only ${bytes.length - body} remain (truncated file?)`,
          );
        }
        len = bytes.length - body;
      }
      const frames = Math.floor(len / fmt.blockAlign); // a trailing partial frame is ignored
      const n = frames * fmt.channels;
      const samples = new Int16Array(n);
      const data = bytes.subarray(body, body + frames * fmt.blockAlign);
      let format: WavFormat;
      if (fmt.tag === FORMAT_PCM) {
        format = "pcm16";
        for (let i = 0; i < n; i++) samples[i] = view.getInt16(body + i * 2, true);
      } else if (fmt.tag === FORMAT_MULAW) {
        format = "mulaw";
        decodeUlaw(data, samples);
      } else {
        format = "alaw";
        decodeAlaw(data, samples);
      }
      return { format, sampleRate: fmt.sampleRate, channels: fmt.channels, samples };
    }
    // Chunks are word aligned: an odd size is followed by a pad byte.
    off = body + size + (size & 1);
  }
  if (fmt === null) throw new SyntaxError("WAV has no fmt chunk");
  throw new SyntaxError("WAV has no data chunk");
}

/** Header fields for writing. */
export interface WavSpec {
  sampleRate: number;
  channels: number;
  format?: WavFormat;
}

function checkSpec(spec: WavSpec): Required<WavSpec> {
  const format = spec.format ?? "pcm16";
  if (format !== "pcm16" && format !== "mulaw" && format !== "alaw") {
    throw new RangeError(`unknown WAV format: ${String(format)}`);
  }
  if (!Number.isInteger(spec.sampleRate) || spec.sampleRate <= 0) {
    throw new RangeError(`bad sample rate: ${spec.sampleRate}`);
  }
  if (!Number.isInteger(spec.channels) || spec.channels < 1 || spec.channels > 65535) {
    throw new RangeError(`bad channel count: ${spec.channels}`);
  }
  return { sampleRate: spec.sampleRate, channels: spec.channels, format };
}

/** Build the header for `dataBytes` of audio; returns the header and where its size fields are. */
function header(spec: Required<WavSpec>, dataBytes: number): Uint8Array {
  const pcm = spec.format === "pcm16";
  const bytesPerSample = pcm ? 2 : 1;
  // Non-PCM formats need an 18-byte fmt (cbSize) and a fact chunk.
  const fmtSize = pcm ? 16 : 18;
  const factSize = pcm ? 0 : 12;
  const len = 12 + 8 + fmtSize + factSize + 8;
  const h = new Uint8Array(len);
  const v = new DataView(h.buffer);
  const put = (off: number, s: string) => {
    for (let i = 0; i < 4; i++) h[off + i] = s.charCodeAt(i);
  };
  put(0, "RIFF");
  v.setUint32(4, len - 8 + dataBytes + (dataBytes & 1), true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, pcm ? FORMAT_PCM : spec.format === "mulaw" ? FORMAT_MULAW : FORMAT_ALAW, true);
  v.setUint16(22, spec.channels, true);
  v.setUint32(24, spec.sampleRate, true);
  v.setUint32(28, spec.sampleRate * spec.channels * bytesPerSample, true);
  v.setUint16(32, spec.channels * bytesPerSample, true);
  v.setUint16(34, bytesPerSample * 8, true);
  let off = 20 + fmtSize;
  if (!pcm) {
    put(off, "fact");
    v.setUint32(off + 4, 4, true);
    v.setUint32(off + 8, Math.floor(dataBytes / spec.channels), true);
    off += 12;
  }
  put(off, "data");
  v.setUint32(off + 4, dataBytes, true);
  return h;
}

function encodeSamples(format: WavFormat, samples: Int16Array): Uint8Array {
  if (format === "pcm16") {
    const out = new Uint8Array(samples.length * 2);
    const v = new DataView(out.buffer);
    for (let i = 0; i < samples.length; i++) v.setInt16(i * 2, samples[i]!, true);
    return out;
  }
  const out = new Uint8Array(samples.length);
  if (format === "mulaw") encodeUlaw(samples, out);
  else encodeAlaw(samples, out);
  return out;
}

/** Encode interleaved 16-bit samples as a complete WAV file. */
export function writeWav(spec: WavSpec, samples: Int16Array): Uint8Array {
  const s = checkSpec(spec);
  if (samples.length % s.channels !== 0) {
    throw new RangeError(`sample count ${samples.length} is not a multiple of ${s.channels} channels`);
  }
  const data = encodeSamples(s.format, samples);
  const h = header(s, data.length);
  const out = new Uint8Array(h.length + data.length + (data.length & 1));
  out.set(h);
  out.set(data, h.length);
  return out;
}

/** Where a streaming writer puts bytes: Deno.FsFile fits. */
export interface WavSink {
  write(p: Uint8Array): Promise<number>;
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
  close(): void;
}

async function writeAll(sink: WavSink, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await sink.write(p.subarray(off));
}

/**
 * Streaming WAV writer for recordings: writes a header with zero sizes, appends audio, and fixes
 * the RIFF/data/fact sizes on close. Not safe for concurrent writes: await each call.
 */
export class WavWriter {
  readonly spec: Readonly<Required<WavSpec>>;
  #sink: WavSink;
  #dataBytes = 0;
  #headerLen: number;
  #closed = false;

  private constructor(sink: WavSink, spec: Required<WavSpec>, headerLen: number) {
    this.#sink = sink;
    this.spec = spec;
    this.#headerLen = headerLen;
  }

  /** Start a WAV stream on a sink (positioned at its start). */
  static async open(sink: WavSink, spec: WavSpec): Promise<WavWriter> {
    const s = checkSpec(spec);
    const h = header(s, 0);
    await writeAll(sink, h);
    return new WavWriter(sink, s, h.length);
  }

  /** Create (or truncate) a file and start a WAV stream in it. */
  static async create(path: string | URL, spec: WavSpec): Promise<WavWriter> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      return await WavWriter.open(file, spec);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** Audio bytes written so far. */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  /** Append interleaved samples. */
  async write(samples: Int16Array): Promise<void> {
    if (this.#closed) throw new TypeError("WavWriter is closed");
    const data = encodeSamples(this.spec.format, samples);
    // RIFF sizes are 32-bit: refuse to write a file whose header would lie.
    if (this.#headerLen + this.#dataBytes + data.length + 1 > 0xffffffff) {
      throw new RangeError(`WAV would exceed 4 GiB (${this.#dataBytes + data.length} data bytes)`);
    }
    await writeAll(this.#sink, data);
    this.#dataBytes += data.length;
  }

  /** Pad to an even length, fix the header sizes and close the sink. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#dataBytes & 1) await writeAll(this.#sink, new Uint8Array(1));
      await this.#sink.seek(0, Deno.SeekMode.Start);
      await writeAll(this.#sink, header(this.spec, this.#dataBytes));
    } finally {
      this.#sink.close();
    }
  }
}
