import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
} from "node:assert";
import {
  available,
  library,
  SRTP_STATUS,
  SRTP_SUITES,
  SrtpError,
  SrtpSession,
  srtpStatusName,
  type SrtpSuite,
  version,
} from "./mod.ts";
import {
  acceptCryptoAnswer,
  createCryptoOffer,
  parseCrypto,
  selectCryptoAnswer,
  serializeCrypto,
} from "../../runtime/sdp/crypto.ts";
import { aesCtr, deriveKey, referenceProtect, referenceUnprotect } from "./_reference_test.ts";

/** Run `fn`, expect an instance of `cls` (message containing `part`), return the error. */
function assertThrows<E extends Error>(fn: () => unknown, cls: new (...a: never[]) => E, part?: string): E {
  try {
    fn();
  } catch (err) {
    assert(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    if (part !== undefined) assert(err.message.includes(part), `"${err.message}" lacks "${part}"`);
    return err;
  }
  throw new Error(`expected ${cls.name}, nothing thrown`);
}

const SUITES = Object.keys(SRTP_SUITES) as SrtpSuite[];
const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();

function keyFor(suite: SrtpSuite, seed = 1): Uint8Array<ArrayBuffer> {
  const info = SRTP_SUITES[suite];
  return Uint8Array.from({ length: info.keyLength + info.saltLength }, (_, i) => (i * 7 + seed) & 0xff);
}

/** An RTP packet (PT 0, SSRC 0x11223344) with `payload` bytes of pattern, in a buffer with room. */
function rtp(seq: number, payload = 160, room = 32): { buf: Uint8Array; len: number } {
  const len = 12 + payload;
  const buf = new Uint8Array(len + room);
  buf[0] = 0x80;
  buf[1] = 0;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  new DataView(buf.buffer).setUint32(4, seq * 160);
  new DataView(buf.buffer).setUint32(8, 0x11223344);
  for (let i = 12; i < len; i++) buf[i] = (i * 13 + seq) & 0xff;
  return { buf, len };
}

/** A minimal RTCP receiver report (8 bytes header+SSRC, no blocks) plus an SDES-like tail. */
function rtcp(room = 32): { buf: Uint8Array; len: number } {
  const len = 16;
  const buf = new Uint8Array(len + room);
  buf.set([0x80, 201, 0, 3, 0x11, 0x22, 0x33, 0x44, 1, 2, 3, 4, 5, 6, 7, 8]);
  return { buf, len };
}

const ffi = available();
const opts = { ignore: !ffi, sanitizeResources: false };

Deno.test("srtp: library loads and reports a 2.x version", opts, () => {
  assertMatch(version(), /2\.\d+/);
});

Deno.test("srtp: a missing library gives the apt hint, not a crash", () => {
  library.setPath("/nonexistent/libsrtp2.so.1");
  try {
    assertEquals(library.available(), false);
    assertMatch(library.reason() ?? "", /not found: SRTP disabled \(apt install libsrtp2-1\)/);
    const err = assertThrows(
      () => new SrtpSession("outbound", { suite: "AEAD_AES_128_GCM", keySalt: keyFor("AEAD_AES_128_GCM") }),
      Error,
    );
    assertMatch(err.message, /libsrtp2-1/);
  } finally {
    library.setPath(undefined);
  }
});

for (const suite of SUITES) {
  Deno.test(`srtp ${suite}: RTP and RTCP round trip in place`, opts, () => {
    const key = keyFor(suite);
    const tx = new SrtpSession("outbound", { suite, keySalt: key });
    const rx = new SrtpSession("inbound", { suite, keySalt: key });
    try {
      for (let seq = 1; seq <= 5; seq++) {
        const { buf, len } = rtp(seq);
        const plain = buf.slice(0, len);
        const n = tx.protectRtp(buf, len);
        assertEquals(n, len + SRTP_SUITES[suite].rtpOverhead);
        assertNotEquals(toHex(buf.subarray(12, len)), toHex(plain.subarray(12)));
        assertEquals(rx.unprotectRtp(buf, n), len);
        assertEquals(buf.subarray(0, len), plain);
      }
      const { buf, len } = rtcp();
      const plain = buf.slice(0, len);
      const n = tx.protectRtcp(buf, len);
      assertEquals(n, len + SRTP_SUITES[suite].rtcpOverhead);
      assertEquals(rx.unprotectRtcp(buf, n), len);
      assertEquals(buf.subarray(0, len), plain);
    } finally {
      tx.close();
      rx.close();
    }
  });

  Deno.test(`srtp ${suite}: tampered packet, wrong key and replay are refused by name`, opts, () => {
    const key = keyFor(suite);
    const tx = new SrtpSession("outbound", { suite, keySalt: key });
    const rx = new SrtpSession("inbound", { suite, keySalt: key });
    const wrong = new SrtpSession("inbound", { suite, keySalt: keyFor(suite, 99) });
    try {
      // tampered payload byte
      const a = rtp(10);
      const na = tx.protectRtp(a.buf, a.len);
      a.buf[20]! ^= 1;
      assertEquals(rx.tryUnprotectRtp(a.buf, na), -SRTP_STATUS.auth_fail);
      const e = assertThrows(() => rx.unprotectRtp(a.buf, na), SrtpError);
      assertEquals(e.status, "auth_fail");
      // wrong key
      const b = rtp(11);
      const nb = tx.protectRtp(b.buf, b.len);
      const copy = b.buf.slice();
      assertEquals(wrong.tryUnprotectRtp(b.buf, nb), -SRTP_STATUS.auth_fail);
      // the right key still works on an untouched copy, then a replay of it is refused
      const c = copy.slice();
      assertEquals(rx.unprotectRtp(copy, nb), b.len);
      const r = assertThrows(() => rx.unprotectRtp(c, nb), SrtpError);
      assertEquals(r.status, "replay_fail");
      // RTCP tamper
      const q = rtcp();
      const nq = tx.protectRtcp(q.buf, q.len);
      q.buf[9]! ^= 0x80;
      assertEquals(rx.tryUnprotectRtcp(q.buf, nq), -SRTP_STATUS.auth_fail);
      // truncated garbage never crashes
      assert(rx.tryUnprotectRtp(new Uint8Array(8), 8) < 0);
    } finally {
      tx.close();
      rx.close();
      wrong.close();
    }
  });

  Deno.test(`srtp ${suite}: interop with an independent WebCrypto implementation`, opts, async () => {
    const key = keyFor(suite, 5);
    const tx = new SrtpSession("outbound", { suite, keySalt: key });
    const rx = new SrtpSession("inbound", { suite, keySalt: key });
    try {
      // libsrtp -> reference
      const a = rtp(100);
      const plainA = a.buf.slice(0, a.len);
      const na = tx.protectRtp(a.buf, a.len);
      assertEquals(await referenceUnprotect(suite, key, a.buf.slice(0, na)), plainA);
      // reference -> libsrtp
      const b = rtp(101);
      const plainB = b.buf.slice(0, b.len);
      const wire = await referenceProtect(suite, key, plainB);
      const buf = new Uint8Array(wire.length + 16);
      buf.set(wire);
      assertEquals(rx.unprotectRtp(buf, wire.length), b.len);
      assertEquals(buf.subarray(0, b.len), plainB);
      // and libsrtp's packet is byte-identical to the reference's
      const c = rtp(102);
      const refC = await referenceProtect(suite, key, c.buf.slice(0, c.len));
      const nc = tx.protectRtp(c.buf, c.len);
      assertEquals(toHex(c.buf.subarray(0, nc)), toHex(refC));
    } finally {
      tx.close();
      rx.close();
    }
  });
}

Deno.test("srtp reference: RFC 3711 B.3 key derivation and B.2 keystream known answers", async () => {
  const mk = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const ms = hex("0EC675AD498AFEEBB6960B3AABE6");
  assertEquals(toHex(await deriveKey(mk, ms, 0, 16)), "C61E7A93744F39EE10734AFE3FF7A087");
  assertEquals(toHex(await deriveKey(mk, ms, 1, 20)), "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
  assertEquals(toHex(await deriveKey(mk, ms, 2, 14)), "30CBBC08863D8C85D49DB34A9AE1");
  const iv = new Uint8Array(16);
  iv.set(hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"));
  const ks = await aesCtr(hex("2B7E151628AED2A6ABF7158809CF4F3C"), iv, new Uint8Array(48));
  assertEquals(
    toHex(ks),
    "E03EAD0935C95E80E166B16DD92B4EB4" + "D23513162B02D0F72A43A2FE4A5F97AB" +
      "41E95B3BB0A2E8DD477901E4FCA894C0",
  );
});

Deno.test(
  "srtp: RFC 3711 B.3 master key drives libsrtp to the same packet as the reference",
  opts,
  async () => {
    const key = hex("E1F97A0D3E018BE0D64FA32C06DE4139" + "0EC675AD498AFEEBB6960B3AABE6");
    const tx = new SrtpSession("outbound", { suite: "AES_CM_128_HMAC_SHA1_80", keySalt: key });
    try {
      const p = rtp(1);
      const ref = await referenceProtect("AES_CM_128_HMAC_SHA1_80", key, p.buf.slice(0, p.len));
      const n = tx.protectRtp(p.buf, p.len);
      assertEquals(toHex(p.buf.subarray(0, n)), toHex(ref));
    } finally {
      tx.close();
    }
  },
);

Deno.test("srtp: bad arguments are RangeError/TypeError, not native crashes", opts, () => {
  assertThrows(
    () => new SrtpSession("outbound", { suite: "AES_CM_128_HMAC_SHA1_80", keySalt: new Uint8Array(16) }),
    RangeError,
    "needs 30 bytes",
  );
  assertThrows(
    () => new SrtpSession("outbound", { suite: "NOPE" as SrtpSuite, keySalt: new Uint8Array(30) }),
    RangeError,
    "not supported",
  );
  assertThrows(
    () =>
      new SrtpSession("sideways" as "outbound", { suite: "AEAD_AES_128_GCM", keySalt: new Uint8Array(28) }),
    TypeError,
  );
  const tx = new SrtpSession("outbound", { suite: "AEAD_AES_128_GCM", keySalt: keyFor("AEAD_AES_128_GCM") });
  const rx = new SrtpSession("inbound", { suite: "AEAD_AES_128_GCM", keySalt: keyFor("AEAD_AES_128_GCM") });
  try {
    const { buf, len } = rtp(1, 160, 8); // 8 < 16 bytes of GCM tag room
    assertThrows(() => tx.protectRtp(buf, len), RangeError, "exceeds buffer");
    assertThrows(() => rx.protectRtp(buf, len), TypeError, "inbound");
    assertThrows(() => tx.unprotectRtp(buf, len), TypeError, "outbound");
    assertThrows(() => rx.unprotectRtp(buf, buf.length + 1), RangeError);
  } finally {
    tx.close();
    rx.close();
  }
  assertThrows(() => tx.protectRtp(new Uint8Array(64), 20), TypeError, "after close");
  tx.close(); // idempotent
});

Deno.test("srtp: status names", () => {
  assertEquals(srtpStatusName(7), "auth_fail");
  assertEquals(srtpStatusName(9), "replay_fail");
  assertEquals(srtpStatusName(99), "unknown_99");
  const e = new SrtpError("srtp_unprotect", 10);
  assertEquals(e.status, "replay_old");
  assertEquals(e.name, "SrtpError");
});

Deno.test("srtp + SDES: an offer/answer's keys drive both directions", opts, () => {
  const offer = createCryptoOffer({ suites: ["AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"] });
  const wireOffer = offer.map((c) => parseCrypto(serializeCrypto(c)));
  const answered = selectCryptoAnswer(wireOffer, { suites: ["AES_CM_128_HMAC_SHA1_80"] })!;
  const ours = acceptCryptoAnswer(offer, [parseCrypto(serializeCrypto(answered.answer))]);
  const theirs = answered.negotiated;
  const suite = ours.suite;
  const aTx = new SrtpSession("outbound", { suite, keySalt: ours.local.exportBytes() });
  const bRx = new SrtpSession("inbound", { suite, keySalt: theirs.remote.exportBytes() });
  const bTx = new SrtpSession("outbound", { suite, keySalt: theirs.local.exportBytes() });
  const aRx = new SrtpSession("inbound", { suite, keySalt: ours.remote.exportBytes() });
  try {
    const p = rtp(1);
    const plain = p.buf.slice(0, p.len);
    assertEquals(bRx.unprotectRtp(p.buf, aTx.protectRtp(p.buf, p.len)), p.len);
    assertEquals(p.buf.subarray(0, p.len), plain);
    const q = rtp(2);
    assertEquals(aRx.unprotectRtp(q.buf, bTx.protectRtp(q.buf, q.len)), q.len);
    // a's own key does not open b's packets
    const r = rtp(3);
    const n = bTx.protectRtp(r.buf, r.len);
    const wrong = new SrtpSession("inbound", { suite, keySalt: ours.local.exportBytes() });
    assertEquals(wrong.tryUnprotectRtp(r.buf, n), -SRTP_STATUS.auth_fail);
    wrong.close();
  } finally {
    for (const s of [aTx, bRx, bTx, aRx]) s.close();
  }
});
