/**
 * Ogg Opus files (RFC 7845 on the Ogg framing of RFC 3533): a writer for recordings (PCM in, Opus
 * packets of 20 ms through the libopus driver, pages written here with their CRC) and a reader
 * that gives the header and the packets back (tests, checks). Channel mapping family 0: mono or
 * stereo (left, right).
 * @module
 */
import { OPUS_APPLICATION_AUDIO, OpusEncoder } from "../../../drivers/opus/mod.ts";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** The Ogg page checksum (CRC-32, polynomial 0x04c11db7, no reflection, initial 0). */
export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  }
  return crc >>> 0;
}

/** Header type flags of a page. */
const CONTINUED = 1;
const BOS = 2;
const EOS = 4;

/** One Ogg page holding whole packets (`packets` at most 255 lacing values in all). */
export function oggPage(
  o: { serial: number; sequence: number; granule: bigint; flags: number; packets: readonly Uint8Array[] },
): Uint8Array {
  const lacing: number[] = [];
  for (const p of o.packets) {
    let n = p.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
  }
  if (lacing.length > 255) throw new RangeError(`an Ogg page holds 255 segments, not ${lacing.length}`);
  const body = o.packets.reduce((a, p) => a + p.length, 0);
  const page = new Uint8Array(27 + lacing.length + body);
  const v = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS"
  page[4] = 0;
  page[5] = o.flags;
  v.setBigInt64(6, o.granule, true);
  v.setUint32(14, o.serial, true);
  v.setUint32(18, o.sequence, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  let off = 27 + lacing.length;
  for (const p of o.packets) {
    page.set(p, off);
    off += p.length;
  }
  v.setUint32(22, oggCrc(page), true);
  return page;
}

/** What a writer writes to (a file; Deno.FsFile fits). */
export interface OggSink {
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Options of `OggOpusWriter`. */
export interface OggOpusOptions {
  /** The PCM rate written (8000, 12000, 16000, 24000 or 48000). */
  sampleRate: number;
  /** 1 or 2 (interleaved left, right). */
  channels: number;
  /**
   * Bits per second (default 32 kbit/s mono, 64 kbit/s stereo: the waveform survives, so a
   * recording's channels can be checked by correlation; a quarter of a 8 kHz stereo WAV).
   */
  bitrate?: number;
}

/**
 * An Ogg Opus stream: `write` takes interleaved PCM (any length), encodes each 20 ms and writes a
 * page about every second; `close` pads the last frame, writes the last page with the end-of-stream
 * flag and a granule position that trims the padding, and closes the sink.
 */
export class OggOpusWriter {
  readonly sampleRate: number;
  readonly channels: number;
  #sink: OggSink;
  #enc: OpusEncoder;
  #serial = (Math.random() * 0xffffffff) >>> 0;
  #sequence = 0;
  #frame: number;
  #pending: Int16Array;
  #filled = 0;
  #packets: Uint8Array[] = [];
  #packetsWritten = 0;
  #inputSamples = 0;
  #preSkip: number;
  #out = new Uint8Array(4000);
  #closed = false;

  private constructor(sink: OggSink, o: OggOpusOptions) {
    this.#sink = sink;
    this.sampleRate = o.sampleRate;
    this.channels = o.channels;
    this.#enc = new OpusEncoder({
      sampleRate: o.sampleRate,
      channels: o.channels,
      bitrate: o.bitrate ?? (o.channels === 2 ? 64_000 : 32_000),
      application: OPUS_APPLICATION_AUDIO,
    });
    this.#frame = o.sampleRate / 50;
    this.#pending = new Int16Array(this.#frame * o.channels);
    this.#preSkip = Math.round(this.#enc.lookahead() * 48000 / o.sampleRate);
  }

  /** Start a stream on a sink: the identification and comment headers, each on its own page. */
  static async open(sink: OggSink, o: OggOpusOptions): Promise<OggOpusWriter> {
    const w = new OggOpusWriter(sink, o);
    try {
      await w.#headers();
    } catch (e) {
      w.#enc.destroy();
      throw e;
    }
    return w;
  }

  /** Create (or truncate) a file and start a stream in it. */
  static async create(path: string | URL, o: OggOpusOptions): Promise<OggOpusWriter> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      return await OggOpusWriter.open(file, o);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Opus packets written so far (20 ms each). */
  get packets(): number {
    return this.#packetsWritten + this.#packets.length;
  }

  async #headers(): Promise<void> {
    const head = new Uint8Array(19);
    const v = new DataView(head.buffer);
    head.set(new TextEncoder().encode("OpusHead"), 0);
    head[8] = 1; // version
    head[9] = this.channels;
    v.setUint16(10, this.#preSkip, true);
    v.setUint32(12, this.sampleRate, true); // the input rate (informational)
    v.setInt16(16, 0, true); // output gain
    head[18] = 0; // mapping family 0
    const vendor = new TextEncoder().encode("pbx (libopus)");
    const tags = new Uint8Array(8 + 4 + vendor.length + 4);
    const tv = new DataView(tags.buffer);
    tags.set(new TextEncoder().encode("OpusTags"), 0);
    tv.setUint32(8, vendor.length, true);
    tags.set(vendor, 12);
    tv.setUint32(12 + vendor.length, 0, true); // no user comments
    await this.#writeAll(
      oggPage({ serial: this.#serial, sequence: this.#sequence++, granule: 0n, flags: BOS, packets: [head] }),
    );
    await this.#writeAll(
      oggPage({ serial: this.#serial, sequence: this.#sequence++, granule: 0n, flags: 0, packets: [tags] }),
    );
  }

  /** Append interleaved samples. */
  async write(samples: Int16Array): Promise<void> {
    if (this.#closed) throw new TypeError("OggOpusWriter is closed");
    if (samples.length % this.channels !== 0) throw new RangeError("samples must hold whole frames");
    this.#inputSamples += samples.length / this.channels;
    let off = 0;
    while (off < samples.length) {
      const n = Math.min(samples.length - off, this.#pending.length - this.#filled);
      this.#pending.set(samples.subarray(off, off + n), this.#filled);
      this.#filled += n;
      off += n;
      if (this.#filled === this.#pending.length) this.#encodeFrame();
    }
    if (this.#packets.length >= 50) await this.#flush(false);
  }

  #encodeFrame(): void {
    const bytes = this.#enc.encode(this.#pending, this.#out);
    this.#packets.push(this.#out.slice(0, bytes));
    this.#filled = 0;
  }

  /** Write the packets encoded so far as pages of at most 255 segments; `last` ends the stream. */
  async #flush(last: boolean): Promise<void> {
    const packets = this.#packets;
    this.#packets = [];
    let i = 0;
    do {
      const group: Uint8Array[] = [];
      let segments = 0;
      while (i < packets.length) {
        const need = Math.floor(packets[i]!.length / 255) + 1;
        if (segments + need > 255) break;
        segments += need;
        group.push(packets[i++]!);
      }
      this.#packetsWritten += group.length;
      const final = last && i >= packets.length;
      let granule = BigInt(this.#packetsWritten * 960);
      if (final) {
        // End trimming: the last page's granule position is where the real audio ends.
        const end = BigInt(this.#preSkip + Math.round(this.#inputSamples * 48000 / this.sampleRate));
        if (end < granule) granule = end;
      }
      await this.#writeAll(oggPage({
        serial: this.#serial,
        sequence: this.#sequence++,
        granule,
        flags: final ? EOS : 0,
        packets: group,
      }));
    } while (i < packets.length);
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#sink.write(bytes.subarray(off));
  }

  /** Encode what is left (padded with silence), write the last page and close the sink. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // Pad the last frame, then encode silence until the encoder's delay (pre-skip) is flushed out.
      const end = this.#preSkip + Math.round(this.#inputSamples * 48000 / this.sampleRate);
      while (this.#filled > 0 || this.packets * 960 < end) {
        this.#pending.fill(0, this.#filled);
        this.#encodeFrame();
      }
      await this.#flush(true);
    } finally {
      this.#enc.destroy();
      this.#sink.close();
    }
  }
}

/** An Ogg Opus stream read back: its header and packets. */
export interface OggOpusStream {
  channels: number;
  preSkip: number;
  inputSampleRate: number;
  /** The last page's granule position (48 kHz samples, pre-skip included). */
  granule: bigint;
  packets: Uint8Array[];
  pages: number;
}

/** Read an Ogg Opus file: checks the capture pattern, every page's CRC and the headers; RangeError names the fault. */
export function readOggOpus(bytes: Uint8Array): OggOpusStream {
  const packets: Uint8Array[] = [];
  let partial: Uint8Array[] = [];
  let off = 0;
  let pages = 0;
  let granule = 0n;
  let sawEos = false;
  while (off < bytes.length) {
    if (off + 27 > bytes.length) throw new RangeError(`a truncated page header at ${off}`);
    const v = new DataView(bytes.buffer, bytes.byteOffset + off);
    if (String.fromCharCode(...bytes.subarray(off, off + 4)) !== "OggS") {
      throw new RangeError(`no OggS at ${off}`);
    }
    const flags = bytes[off + 5]!;
    const nseg = bytes[off + 26]!;
    const lacing = bytes.subarray(off + 27, off + 27 + nseg);
    const bodyLen = lacing.reduce((a, b) => a + b, 0);
    const end = off + 27 + nseg + bodyLen;
    if (end > bytes.length) throw new RangeError(`a truncated page at ${off}`);
    const page = bytes.slice(off, end);
    const crc = v.getUint32(22, true);
    page.fill(0, 22, 26);
    if (oggCrc(page) !== crc) throw new RangeError(`page ${pages}: bad CRC`);
    if (pages === 0 && (flags & BOS) === 0) throw new RangeError("the first page has no BOS flag");
    granule = v.getBigInt64(6, true);
    if (flags & EOS) sawEos = true;
    if ((flags & CONTINUED) === 0 && partial.length > 0) {
      throw new RangeError(`page ${pages}: a packet left open`);
    }
    let p = off + 27 + nseg;
    for (const l of lacing) {
      partial.push(bytes.subarray(p, p + l));
      p += l;
      if (l < 255) {
        const len = partial.reduce((a, b) => a + b.length, 0);
        const pkt = new Uint8Array(len);
        let o = 0;
        for (const part of partial) {
          pkt.set(part, o);
          o += part.length;
        }
        packets.push(pkt);
        partial = [];
      }
    }
    pages++;
    off = end;
  }
  if (!sawEos) throw new RangeError("no end-of-stream page");
  const head = packets.shift();
  const tags = packets.shift();
  if (head === undefined || new TextDecoder().decode(head.subarray(0, 8)) !== "OpusHead") {
    throw new RangeError("no OpusHead");
  }
  if (tags === undefined || new TextDecoder().decode(tags.subarray(0, 8)) !== "OpusTags") {
    throw new RangeError("no OpusTags");
  }
  const hv = new DataView(head.buffer, head.byteOffset);
  return {
    channels: head[9]!,
    preSkip: hv.getUint16(10, true),
    inputSampleRate: hv.getUint32(12, true),
    granule,
    packets,
    pages,
  };
}
