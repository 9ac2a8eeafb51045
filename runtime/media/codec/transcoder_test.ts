import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { defaultRegistry, frameSamples, Transcoder } from "./mod.ts";
import { compare, testSignal } from "./_signal.ts";

const registry = defaultRegistry();

Deno.test("PCMU 20 ms in, G729 30 ms out: three packets become two 30-byte packets", () => {
  const pcmu = registry.get("PCMU", 8000)!.create();
  const g729 = registry.get("G729", 8000)!.create({ frameMs: 30 });
  const t = new Transcoder(pcmu, g729);
  try {
    const sizes: number[] = [];
    const ticks: number[] = [];
    const payload = new Uint8Array(160);
    const pcm = testSignal(8000, 0.06);
    for (let i = 0; i < 3; i++) {
      pcmu.encode(pcm.subarray(i * 160, (i + 1) * 160), payload);
      t.push(payload, (p, rtpTicks) => {
        sizes.push(p.length);
        ticks.push(rtpTicks);
      });
    }
    assertEquals(sizes, [30, 30]);
    assertEquals(ticks, [240, 240]);
    assertEquals(t.buffered, 0);
  } finally {
    t.close();
    pcmu.close();
    g729.close();
  }
});

Deno.test("PCMU -> opus 16 kHz -> PCMU keeps the waveform (both directions of a call)", () => {
  const pcmuA = registry.get("PCMU", 8000)!.create();
  const pcmuB = registry.get("PCMU", 8000)!.create();
  const opus = registry.get("opus", 48000)!.create();
  const toOpus = new Transcoder(pcmuA, opus);
  const back = new Transcoder(opus, pcmuB);
  try {
    const pcm = testSignal(8000, 1);
    const decoded = new Int16Array(8000 + 320);
    let w = 0;
    const ulaw = new Uint8Array(160);
    const scratch = new Int16Array(160);
    for (let off = 0; off + 160 <= pcm.length; off += 160) {
      pcmuA.encode(pcm.subarray(off, off + 160), ulaw);
      toOpus.push(ulaw, (opusPayload, ticks) => {
        assertEquals(ticks, 960);
        back.push(opusPayload, (pcmuPayload) => {
          w += pcmuB.decode(pcmuPayload, scratch);
          decoded.set(scratch.subarray(0, 160), w - 160);
        });
      });
    }
    assert(w >= 7680, `got ${w} samples`);
    const r = compare(pcm, decoded.subarray(0, w), 400, 800);
    assert(r.correlation > 0.9, `correlation ${r.correlation} lag ${r.lag}`);
  } finally {
    toOpus.close();
    back.close();
    for (const c of [pcmuA, pcmuB, opus]) c.close();
  }
});

Deno.test("a lost source packet is concealed and still yields output packets", () => {
  const g722 = registry.get("G722", 8000)!.create();
  const pcma = registry.get("PCMA", 8000)!.create();
  const t = new Transcoder(g722, pcma);
  try {
    let packets = 0;
    const payload = new Uint8Array(160);
    g722.encode(testSignal(16000, 0.02), payload);
    t.push(payload, () => packets++);
    t.lost(() => packets++);
    t.lost(() => packets++);
    assert(packets >= 2, `${packets} packets`);
    assertEquals(frameSamples(pcma), 160);
  } finally {
    t.close();
    g722.close();
    pcma.close();
  }
});
