// Per-frame (20 ms) encode and decode cost of every available codec: `deno bench --allow-all`.
import { defaultRegistry, frameSamples, Resampler } from "./mod.ts";
import { testSignal } from "./_signal.ts";

const variants = defaultRegistry().available().flatMap((f) =>
  f.name === "opus"
    ? [
      { label: "opus 16k c5", factory: f, options: { sampleRate: 16000, complexity: 5 } },
      { label: "opus 16k c1", factory: f, options: { sampleRate: 16000, complexity: 1 } },
      { label: "opus 48k c5", factory: f, options: { sampleRate: 48000, complexity: 5 } },
    ]
    : [{ label: f.name, factory: f, options: {} }]
);

for (const { label, factory, options } of variants) {
  const codec = factory.create(options);
  const frame = frameSamples(codec);
  const pcm = testSignal(codec.sampleRate, 1);
  const frames = Math.floor(pcm.length / frame);
  const payloads: Uint8Array[] = [];
  const buf = new Uint8Array(1500);
  for (let i = 0; i < frames; i++) {
    payloads.push(buf.slice(0, codec.encode(pcm.subarray(i * frame, (i + 1) * frame), buf)));
  }
  const out = new Int16Array(5760);
  let i = 0;
  Deno.bench({ name: `${label} encode 20 ms`, group: "encode" }, () => {
    codec.encode(pcm.subarray((i % frames) * frame, (i % frames + 1) * frame), buf);
    i++;
  });
  let j = 0;
  Deno.bench({ name: `${label} decode 20 ms`, group: "decode" }, () => {
    codec.decode(payloads[j++ % frames]!, out);
  });
}

for (const [from, to] of [[8000, 16000], [16000, 8000], [8000, 48000]] as const) {
  const rs = new Resampler(from, to);
  const input = testSignal(from, 0.02);
  const out = new Int16Array(rs.maxOutput(input.length));
  Deno.bench({ name: `resample ${from} -> ${to} 20 ms (${rs.kind})`, group: "resample" }, () => {
    rs.process(input, out);
  });
}
