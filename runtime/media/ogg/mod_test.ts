import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { available, OpusDecoder } from "../../../drivers/opus/mod.ts";
import { oggCrc, OggOpusWriter, readOggOpus } from "./mod.ts";

/** A sink collecting the bytes in memory. */
function memory() {
  const chunks: Uint8Array[] = [];
  return {
    sink: {
      write: (p: Uint8Array) => {
        chunks.push(p.slice());
        return Promise.resolve(p.length);
      },
      close() {},
    },
    bytes: () => {
      const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}

Deno.test("the Ogg CRC is the one of RFC 3533 (CRC-32/MPEG-2 without reflection, initial 0)", () => {
  eq(oggCrc(new TextEncoder().encode("123456789")), 0x89a1897f);
});

Deno.test({
  name: "Ogg Opus: a stereo 16 kHz stream decodes back with the right length, channels apart",
  ignore: !available(),
  async fn() {
    const rate = 16000;
    const seconds = 3;
    const pcm = new Int16Array(rate * seconds * 2);
    for (let i = 0; i < rate * seconds; i++) {
      pcm[2 * i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rate));
      pcm[2 * i + 1] = Math.round(8000 * Math.sin(2 * Math.PI * 1250 * i / rate));
    }
    const m = memory();
    const w = await OggOpusWriter.open(m.sink, { sampleRate: rate, channels: 2 });
    // Odd-sized writes: the writer frames them itself.
    for (let off = 0; off < pcm.length; off += 2 * 333) {
      await w.write(pcm.subarray(off, Math.min(pcm.length, off + 2 * 333)));
    }
    await w.close();
    const s = readOggOpus(m.bytes());
    eq([s.channels, s.inputSampleRate], [2, rate]);
    ok(s.preSkip > 0 && s.pages >= 5, JSON.stringify({ preSkip: s.preSkip, pages: s.pages }));
    eq(s.packets.length, seconds * 50 + 1); // one more flushes the encoder's delay out
    eq(Number(s.granule) - s.preSkip, seconds * 48000);
    const dec = new OpusDecoder({ sampleRate: 48000, channels: 2 });
    const out = new Int16Array(960 * 2);
    const left: number[] = [];
    const right: number[] = [];
    for (const p of s.packets) {
      const n = dec.decode(p, out);
      for (let i = 0; i < n; i++) {
        left.push(out[2 * i]!);
        right.push(out[2 * i + 1]!);
      }
    }
    dec.destroy();
    // Goertzel-free check: correlate each channel with its own tone and the other's, over 1 s.
    const corr = (x: number[], hz: number) => {
      let re = 0, im = 0, e = 0;
      for (let i = 48000; i < 96000; i++) {
        re += x[i]! * Math.cos(2 * Math.PI * hz * i / 48000);
        im += x[i]! * Math.sin(2 * Math.PI * hz * i / 48000);
        e += x[i]! * x[i]!;
      }
      return Math.sqrt(re * re + im * im) / Math.sqrt(e * 48000 / 2);
    };
    const c = {
      l440: corr(left, 440),
      l1250: corr(left, 1250),
      r1250: corr(right, 1250),
      r440: corr(right, 440),
    };
    ok(c.l440 > 0.9 && c.r1250 > 0.9 && c.l1250 < 0.1 && c.r440 < 0.1, JSON.stringify(c));
  },
});

Deno.test("readOggOpus names a broken file", () => {
  throws(() => readOggOpus(new TextEncoder().encode("RIFF....WAVEfmt ".repeat(3))), /no OggS/);
  throws(() => readOggOpus(new Uint8Array(10)), /truncated/);
});

Deno.test({
  name: "Ogg Opus: a corrupted byte fails the page CRC",
  ignore: !available(),
  async fn() {
    const m = memory();
    const w = await OggOpusWriter.open(m.sink, { sampleRate: 8000, channels: 1 });
    await w.write(new Int16Array(8000));
    await w.close();
    const b = m.bytes();
    b[b.length - 3]! ^= 0x55;
    throws(() => readOggOpus(b), /bad CRC/);
  },
});
