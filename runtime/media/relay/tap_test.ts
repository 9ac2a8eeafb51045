import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import dgram from "node:dgram";
import { writeRtpHeader } from "../rtp/rtp.ts";
import { goertzelPower } from "../dtmf/dtmf.ts";
import { type AudioCodec, defaultRegistry } from "../codec/mod.ts";
import { type MediaEvent, MediaPlane } from "./mod.ts";

type AudioEvent = Extract<MediaEvent, { event: "audio" }>;

const registry = defaultRegistry();

function sender(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
}

function send(s: dgram.Socket, data: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(data, port, "127.0.0.1", (e) => e ? reject(e) : resolve()));
}

function packet(pt: number, seq: number, ts: number, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(12 + payload.length);
  writeRtpHeader(buf, { payloadType: pt, sequence: seq, timestamp: ts, ssrc: 0x5150, marker: seq === 1 });
  buf.set(payload, 12);
  return buf;
}

/** `count` 20 ms frames of a 1 kHz tone, encoded with `codec`. */
function encodeTone(codec: AudioCodec, count: number): Uint8Array[] {
  const n = Math.round(codec.sampleRate / 50);
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(1500);
  for (let f = 0; f < count; f++) {
    const pcm = new Int16Array(n).map((_, i) =>
      Math.round(8000 * Math.sin(2 * Math.PI * 1000 * (f * n + i) / codec.sampleRate))
    );
    out.push(buf.slice(0, codec.encode(pcm, buf)));
  }
  return out;
}

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!pred()) throw new Error(`never happened: ${what}`);
}

async function withTap(
  payloadMap: Record<number, string>,
  fn: (o: { plane: MediaPlane; port: number; s: dgram.Socket; events: AudioEvent[] }) => Promise<void>,
): Promise<void> {
  const portMin = 20000 + 2 * Math.floor(Math.random() * 15000);
  const plane = await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 9 });
  const s = await sender();
  const events: AudioEvent[] = [];
  const off = plane.on((e) => e.event === "audio" && events.push(e));
  try {
    const leg = await plane.allocateLeg();
    await plane.configureLeg(leg.legId, { payloadMap });
    await plane.tap(leg.legId, true);
    await fn({ plane, port: leg.rtpPort, s, events });
    await plane.tap(leg.legId, false);
    assertEquals((await plane.resources()).codecs, 0, "stopping the tap frees its decoder");
  } finally {
    off();
    await new Promise<void>((r) => s.close(() => r()));
    await plane.close();
  }
}

for (
  const [codec, pt, rate] of [["opus/48000/2", 111, 48000], ["G722/8000", 9, 16000], [
    "PCMA/8000",
    8,
    8000,
  ]] as const
) {
  const [name = "", clock] = codec.split("/");
  Deno.test({
    name: `a tapped ${name} leg gives decoded PCM at ${rate} Hz, one frame per packet, with arrival times`,
    ignore: registry.get(name, Number(clock)) === undefined,
    async fn() {
      const enc = registry.get(name, Number(clock))!.create({
        ...(rate === 48000 ? { sampleRate: 48000 } : {}),
      });
      const frames = encodeTone(enc, 10);
      enc.close();
      const ticks = Math.round(Number(clock) / 50);
      await withTap({ [pt]: codec, 101: "telephone-event/8000" }, async ({ port, s, events }) => {
        const before = performance.timeOrigin + performance.now();
        for (let i = 0; i < frames.length; i++) await send(s, packet(pt, i + 1, i * ticks, frames[i]!), port);
        await until(() => events.length >= 10, "10 audio frames");
        assert(events.every((e) => e.sampleRate === rate && e.pcm.length === rate / 50));
        assertEquals(events.map((e) => e.timestamp), frames.map((_, i) => i * ticks));
        assert(
          events.every((e) =>
            e.receivedAt >= before - 1 && e.receivedAt <= performance.timeOrigin + performance.now()
          ),
        );
        // The decoded tone: 1 kHz dominates (skip the codecs' start-up frames).
        const pcm = events[6]!.pcm;
        assert(
          goertzelPower(pcm, 1000, rate) > 20 * goertzelPower(pcm, 2500, rate),
          `${name} decodes the tone`,
        );
      });
    },
  });
}

Deno.test("a tapped leg decodes reordered packets in order and conceals a lost one", async () => {
  const enc = registry.get("PCMU", 8000)!.create();
  const frames = encodeTone(enc, 8);
  enc.close();
  await withTap({ 0: "PCMU/8000" }, async ({ port, s, events }) => {
    const order = [1, 2, 4, 3, 5, 7, 8]; // 3 late but in time, 6 lost
    for (const seq of order) await send(s, packet(0, seq, (seq - 1) * 160, frames[seq - 1]!), port);
    await until(() => events.length >= 8, "8 frames (one concealed)");
    assertEquals(events.map((e) => e.timestamp / 160), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert(events.every((e) => e.pcm.length === 160));
  });
});

Deno.test("a tap ignores a payload type it cannot decode without failing", async () => {
  await withTap({ 96: "NOSUCH/8000" }, async ({ plane, port, s, events }) => {
    await send(s, packet(96, 1, 0, new Uint8Array(20)), port);
    await send(s, packet(0, 2, 160, new Uint8Array(160).fill(0xff)), port); // static PCMU still decodes
    await until(() => events.length >= 1, "the PCMU frame");
    assertEquals(events[0]!.sampleRate, 8000);
    assertEquals((await plane.resources()).legs, 1);
  });
});
