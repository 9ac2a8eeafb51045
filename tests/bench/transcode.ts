/**
 * How many transcoded calls one core sustains: G.711 (PCMU) <-> Opus 16 kHz complexity 5,
 * PCMU <-> G.729 and PCMU <-> G.722, each call running both directions at 50 packets/s.
 * The same work done by a tiny C program calling the same libraries gives the reference, so the
 * result is a ratio (TypeScript + FFI overhead) that survives noisy machines.
 *
 * Run: deno run --allow-all tests/bench/transcode.ts [--seconds=0.5] [--rounds=5]
 * TS and C runs alternate in short slices and the best slice of each counts, so load from other
 * processes hurts both sides alike. Writes tests/artifacts/bench/transcode.json.
 */
import { type AudioCodec, defaultRegistry, frameSamples, Transcoder } from "../../runtime/media/codec/mod.ts";

const LIBDIR = "/usr/lib/x86_64-linux-gnu";
const seconds = Number(Deno.args.find((a) => a.startsWith("--seconds="))?.slice(10) ?? 0.5);
const rounds = Number(Deno.args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 5);

// The C reference: same libraries, own prototypes (no -dev headers), table G.711 like the TS one,
// speex resampler quality 3 like the TS Resampler.
const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <time.h>
void *opus_encoder_create(int32_t fs, int ch, int app, int *err);
int opus_encode(void *st, const int16_t *pcm, int frame, unsigned char *data, int32_t max);
int opus_encoder_ctl(void *st, int req, ...);
void *opus_decoder_create(int32_t fs, int ch, int *err);
int opus_decode(void *st, const unsigned char *data, int32_t len, int16_t *pcm, int frame, int fec);
void *initBcg729EncoderChannel(uint8_t vad);
void bcg729Encoder(void *ctx, const int16_t *in, uint8_t *out, uint8_t *len);
void *initBcg729DecoderChannel(void);
void bcg729Decoder(void *ctx, const uint8_t *bits, uint8_t len, uint8_t erasure, uint8_t sid, uint8_t rfc3389, int16_t *out);
void *g722_encode_init(void *s, int rate, int options);
int g722_encode(void *s, uint8_t *out, const int16_t *amp, int len);
void *g722_decode_init(void *s, int rate, int options);
int g722_decode(void *s, int16_t *amp, const uint8_t *data, int len);
void *speex_resampler_init(uint32_t ch, uint32_t in, uint32_t out, int q, int *err);
int speex_resampler_process_int(void *st, uint32_t idx, const int16_t *in, uint32_t *in_len, int16_t *out, uint32_t *out_len);

static uint8_t ulaw_enc[65536];
static int16_t ulaw_dec[256];
static uint8_t linear2ulaw(int pcm) {
  int mask = 0xff, seg = 0, v;
  if (pcm < 0) { pcm = -pcm; mask = 0x7f; }
  pcm = (pcm >> 2) + 33; if (pcm > 8191) pcm = 8191;
  for (v = pcm >> 6; v; v >>= 1) seg++;
  if (seg >= 8) return (uint8_t)(0x7f ^ mask);
  return (uint8_t)(((seg << 4) | ((pcm >> (seg + 1)) & 0xf)) ^ mask);
}
static int16_t ulaw2linear(uint8_t u) {
  u = ~u; int t = ((u & 0x0f) << 3) + 0x84; t <<= (u & 0x70) >> 4;
  return (int16_t)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }

enum { OPUS = 0, G729 = 1, G722 = 2 };
typedef struct {
  void *enc, *dec, *up, *down; /* up: 8k -> codec rate, down: codec rate -> 8k */
} call_t;

int main(int argc, char **argv) {
  int kind = strcmp(argv[1], "opus") == 0 ? OPUS : strcmp(argv[1], "G729") == 0 ? G729 : G722;
  double secs = atof(argv[2]);
  for (int i = 0; i < 65536; i++) ulaw_enc[i] = linear2ulaw((int16_t)i);
  for (int i = 0; i < 256; i++) ulaw_dec[i] = ulaw2linear((uint8_t)i);
  int rate = kind == G729 ? 8000 : 16000, frame = rate / 50, err = 0;
  /* One second of input each way: PCMU payloads and codec payloads of the test signal. */
  static uint8_t ulaw_in[50][160], codec_in[50][400]; static int codec_len[50];
  static int16_t sig8[8000], sigr[16000];
  for (int i = 0; i < 8000; i++) { double t = i / 8000.0; sig8[i] = (int16_t)(16000 * (0.6 + 0.4 * sin(6.2832 * 3 * t)) * (0.6 * sin(6.2832 * 400 * t) + 0.4 * sin(6.2832 * 1000 * t))); }
  for (int i = 0; i < rate; i++) { double t = (double)i / rate; sigr[i] = (int16_t)(16000 * (0.6 + 0.4 * sin(6.2832 * 3 * t)) * (0.6 * sin(6.2832 * 400 * t) + 0.4 * sin(6.2832 * 1000 * t))); }
  for (int f = 0; f < 50; f++) for (int i = 0; i < 160; i++) ulaw_in[f][i] = ulaw_enc[(uint16_t)sig8[f * 160 + i]];
  call_t c;
  if (kind == OPUS) {
    c.enc = opus_encoder_create(16000, 1, 2048, &err); opus_encoder_ctl(c.enc, 4010, 5); opus_encoder_ctl(c.enc, 4024, 3001);
    c.dec = opus_decoder_create(16000, 1, &err);
  } else if (kind == G729) { c.enc = initBcg729EncoderChannel(0); c.dec = initBcg729DecoderChannel(); }
  else { c.enc = g722_encode_init(NULL, 64000, 0); c.dec = g722_decode_init(NULL, 64000, 0); }
  if (kind != G729) { c.up = speex_resampler_init(1, 8000, rate, 3, &err); c.down = speex_resampler_init(1, rate, 8000, 3, &err); }
  for (int f = 0; f < 50; f++) {
    const int16_t *p = sigr + f * frame;
    if (kind == OPUS) codec_len[f] = opus_encode(c.enc, p, frame, codec_in[f], 400);
    else if (kind == G729) { uint8_t l1, l2; bcg729Encoder(c.enc, p, codec_in[f], &l1); bcg729Encoder(c.enc, p + 80, codec_in[f] + l1, &l2); codec_len[f] = l1 + l2; }
    else codec_len[f] = g722_encode(c.enc, codec_in[f], p, frame);
  }
  int16_t pcm8[160], pcmr[960]; uint8_t out[400]; volatile uint8_t sink = 0;
  long callSeconds = 0; double t0 = now();
  while (now() - t0 < secs) {
    for (int f = 0; f < 50; f++) {
      /* PCMU -> codec */
      for (int i = 0; i < 160; i++) pcm8[i] = ulaw_dec[ulaw_in[f][i]];
      const int16_t *src = pcm8;
      if (kind != G729) { uint32_t il = 160, ol = frame; speex_resampler_process_int(c.up, 0, pcm8, &il, pcmr, &ol); src = pcmr; }
      if (kind == OPUS) sink ^= opus_encode(c.enc, src, frame, out, 400);
      else if (kind == G729) { uint8_t l; bcg729Encoder(c.enc, src, out, &l); bcg729Encoder(c.enc, src + 80, out + 10, &l); sink ^= l; }
      else sink ^= g722_encode(c.enc, out, src, frame);
      /* codec -> PCMU */
      if (kind == OPUS) opus_decode(c.dec, codec_in[f], codec_len[f], pcmr, 960, 0);
      else if (kind == G729) { bcg729Decoder(c.dec, codec_in[f], 10, 0, 0, 0, pcm8); bcg729Decoder(c.dec, codec_in[f] + 10, 10, 0, 0, 0, pcm8 + 80); }
      else g722_decode(c.dec, pcmr, codec_in[f], codec_len[f]);
      if (kind != G729) { uint32_t il = frame, ol = 160; speex_resampler_process_int(c.down, 0, pcmr, &il, pcm8, &ol); }
      for (int i = 0; i < 160; i++) out[i] = ulaw_enc[(uint16_t)pcm8[i]];
      sink ^= out[7];
    }
    callSeconds++;
  }
  printf("%f\n", callSeconds / (now() - t0));
  return sink == 256;
}
`;

async function buildC(): Promise<string> {
  const src = "/tmp/pbx-transcode-bench.c";
  const bin = "/tmp/pbx-transcode-bench";
  await Deno.writeTextFile(src, C_SOURCE);
  const libs = ["libopus.so.0", "libbcg729.so.0", "libspandsp.so.2", "libspeexdsp.so.1"].map((l) =>
    `${LIBDIR}/${l}`
  );
  const cc = await new Deno.Command("gcc", { args: ["-O2", "-o", bin, src, ...libs, "-lm"], stderr: "piped" })
    .output();
  if (!cc.success) throw new Error(`gcc failed:\n${new TextDecoder().decode(cc.stderr)}`);
  return bin;
}

async function runC(bin: string, kind: string): Promise<number> {
  const out = await new Deno.Command(bin, { args: [kind, String(seconds)], stdout: "piped" }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** Payloads for one second of the test signal, as `codec` would send them. */
function oneSecond(codec: AudioCodec): Uint8Array[] {
  const frame = frameSamples(codec);
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(1500);
  for (let f = 0; f < 50; f++) {
    const pcm = new Int16Array(frame);
    for (let i = 0; i < frame; i++) {
      const t = (f * frame + i) / codec.sampleRate;
      pcm[i] = 16000 * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) *
        (0.6 * Math.sin(2 * Math.PI * 400 * t) + 0.4 * Math.sin(2 * Math.PI * 1000 * t));
    }
    out.push(buf.slice(0, codec.encode(pcm, buf)));
  }
  return out;
}

function runTs(name: string, clock: number): number {
  const registry = defaultRegistry();
  const make = () => registry.get(name, clock)!.create({ complexity: 5, sampleRate: 16000 });
  const pcmuA = registry.get("PCMU", 8000)!.create();
  const pcmuB = registry.get("PCMU", 8000)!.create();
  const enc = make();
  const dec = make();
  const toX = new Transcoder(pcmuA, enc);
  const fromX = new Transcoder(dec, pcmuB);
  const ulawIn = oneSecond(pcmuA);
  const codecIn = oneSecond(make());
  let sink = 0;
  const emit = (p: Uint8Array) => {
    sink ^= p.length;
  };
  let callSeconds = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let f = 0; f < 50; f++) {
      toX.push(ulawIn[f]!, emit);
      fromX.push(codecIn[f]!, emit);
    }
    callSeconds++;
  }
  const rate = callSeconds / ((performance.now() - t0) / 1000);
  for (const x of [toX, fromX, pcmuA, pcmuB, enc, dec]) x.close();
  return sink === -1 ? 0 : rate;
}

const bin = await buildC();
const pairs = [
  { label: "PCMU <-> opus 16k c5", name: "opus", clock: 48000, c: "opus" },
  { label: "PCMU <-> G729", name: "G729", clock: 8000, c: "G729" },
  { label: "PCMU <-> G722", name: "G722", clock: 8000, c: "G722" },
];
const rows = [];
for (const p of pairs) {
  runTs(p.name, p.clock); // warm up the JIT
  let ts = 0;
  let c = 0;
  for (let r = 0; r < rounds; r++) {
    ts = Math.max(ts, runTs(p.name, p.clock));
    c = Math.max(c, await runC(bin, p.c));
  }
  rows.push({
    pair: p.label,
    tsCalls: Math.floor(ts),
    cCalls: Math.floor(c),
    ratio: Number((ts / c).toFixed(3)),
  });
}
console.log("transcoded calls per core (both directions, 50 packets/s each way)");
console.log("pair                     TS calls   C calls   TS/C");
for (const r of rows) {
  console.log(
    `${r.pair.padEnd(24)} ${String(r.tsCalls).padStart(8)} ${String(r.cCalls).padStart(9)}   ${
      r.ratio.toFixed(2)
    }`,
  );
}
const outDir = new URL("../artifacts/bench/", import.meta.url);
await Deno.mkdir(outDir, { recursive: true });
await Deno.writeTextFile(
  new URL("transcode.json", outDir),
  JSON.stringify({ date: new Date().toISOString(), secondsPerSlice: seconds, rounds, rows }, null, 2) + "\n",
);
