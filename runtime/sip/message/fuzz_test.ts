// Seeded fuzzing: the parser and the framer must only ever fail with SipParseError.
import { ok, strictEqual } from "node:assert/strict";
import { parseMessage, serializeMessage, type SipMessage, SipParseError, StreamFramer } from "./mod.ts";

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DIR = new URL("./testdata/rfc4475/", import.meta.url);
const SEEDS: Uint8Array[] = [...Deno.readDirSync(DIR)]
  .filter((e) => e.name.endsWith(".sip"))
  .sort((a, b) => a.name.localeCompare(b.name))
  .map((e) => Deno.readFileSync(new URL(e.name, DIR)));
const ALPHABET = new TextEncoder().encode(
  '\r\n\r\n :;,<>"\\=@/\t%SIP/2.0 INVITE sip:Via To From CSeq Call-ID l: 0123456789',
);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function splitLines(b: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 10) {
      lines.push(b.subarray(s, i + 1));
      s = i + 1;
    }
  }
  lines.push(b.subarray(s));
  return lines;
}

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rnd() * n);
  let b: Uint8Array = src.slice();
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    switch (pick(7)) {
      case 0: // bit flips
        for (let k = 0; k < 1 + pick(8) && b.length > 0; k++) b[pick(b.length)]! ^= 1 << pick(8);
        break;
      case 1: // truncation
        b = b.slice(0, pick(b.length + 1));
        break;
      case 2: { // duplicate a line
        const lines = splitLines(b);
        const i = pick(lines.length);
        lines.splice(i, 0, lines[i]!);
        b = concat(lines);
        break;
      }
      case 3: { // remove a line
        const lines = splitLines(b);
        lines.splice(pick(lines.length), 1);
        b = concat(lines);
        break;
      }
      case 4: { // insert syntax-heavy bytes
        const at = pick(b.length + 1);
        const ins = Uint8Array.from({ length: 1 + pick(6) }, () => ALPHABET[pick(ALPHABET.length)]!);
        b = concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 5: // random byte overwrite
        for (let k = 0; k < 1 + pick(4) && b.length > 0; k++) b[pick(b.length)] = pick(256);
        break;
      default: { // swap two lines
        const lines = splitLines(b);
        const i = pick(lines.length);
        const j = pick(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        b = concat(lines);
      }
    }
  }
  return b;
}

function randomBytes(rnd: () => number): Uint8Array {
  const n = Math.floor(rnd() * 400);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    b[i] = rnd() < 0.5 ? ALPHABET[Math.floor(rnd() * ALPHABET.length)]! : Math.floor(rnd() * 256);
  }
  return b;
}

/** Parses, and if that works, checks the message serializes and parses again. */
function check(data: Uint8Array): "ok" | "rejected" {
  let m: SipMessage;
  try {
    m = parseMessage(data);
  } catch (e) {
    if (e instanceof SipParseError) return "rejected";
    throw new Error(`non-SipParseError for input ${JSON.stringify(new TextDecoder().decode(data))}`, {
      cause: e,
    });
  }
  ok(m.type === "request" || m.type === "response");
  const again = parseMessage(serializeMessage(m));
  strictEqual(
    again.headers.length,
    m.headers.length + (m.headers.some((h) => h.name === "Content-Length") ? 0 : 1),
  );
  return "ok";
}

Deno.test("fuzz: 3000 random byte strings only ever throw SipParseError", () => {
  const rnd = prng(0x5eed1);
  for (let i = 0; i < 3000; i++) check(randomBytes(rnd));
});

Deno.test("fuzz: 6000 mutated valid messages parse or throw SipParseError, and parsed ones round-trip", () => {
  const rnd = prng(0x5eed2);
  let parsed = 0;
  for (let i = 0; i < 6000; i++) {
    if (check(mutate(SEEDS[i % SEEDS.length]!, rnd)) === "ok") parsed++;
  }
  ok(parsed > 100, `only ${parsed} mutants parsed; mutations are too destructive to test much`);
});

Deno.test("fuzz: StreamFramer fed mutated streams in random chunks never throws", () => {
  const rnd = prng(0x5eed3);
  for (let round = 0; round < 300; round++) {
    const f = new StreamFramer({ maxMessageSize: 4096 });
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 4; k++) {
      const seed = SEEDS[Math.floor(rnd() * SEEDS.length)]!;
      parts.push(rnd() < 0.5 ? seed : mutate(seed, rnd));
      if (rnd() < 0.3) parts.push(new TextEncoder().encode("\r\n\r\n"));
    }
    const stream = concat(parts);
    let pos = 0;
    while (pos < stream.length) {
      const n = 1 + Math.floor(rnd() * 300);
      f.push(stream.subarray(pos, pos + n));
      pos += n;
      for (let item = f.next(); item !== undefined; item = f.next()) {
        ok(item.raw instanceof Uint8Array);
        if (item.error !== undefined) ok(item.error instanceof SipParseError);
      }
    }
  }
});
