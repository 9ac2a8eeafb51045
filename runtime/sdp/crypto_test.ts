import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import { inspect } from "node:util";
import {
  acceptCryptoAnswer,
  createCryptoOffer,
  cryptoAttribute,
  cryptoOf,
  DEFAULT_SDES_SUITES,
  generateKeySalt,
  isUsableCrypto,
  judgeCryptoOffer,
  parseCrypto,
  planCryptoOffer,
  redactCrypto,
  SDES_SUITES,
  type SdesCrypto,
  selectCryptoAnswer,
  serializeCrypto,
  SrtpKeySalt,
} from "./crypto.ts";
import { parseSdp, serializeSdp } from "./parse.ts";

// RFC 4568 section 6.2 / 9.1 example key (30 bytes).
const RFC_KEY = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";

Deno.test("crypto: RFC 4568 example parses, round trips and keeps lifetime/MKI", () => {
  const value = `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4`;
  const c = parseCrypto(value);
  assertEquals(c.tag, 1);
  assertEquals(c.suite, "AES_CM_128_HMAC_SHA1_80");
  assertEquals(c.keys.length, 1);
  assertEquals(c.keys[0]!.key.length, 30);
  assertEquals(c.keys[0]!.lifetime, "2^20");
  assertEquals(c.keys[0]!.mki, { value: "1", length: 4 });
  assertEquals(serializeCrypto(c), value);
  assertEquals(c.keys[0]!.key.exportBase64(), RFC_KEY);
  // MKI lines are parsed but not usable by the driver
  assertEquals(isUsableCrypto(c), false);
  const plain = parseCrypto(`2 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY} KDR=0 WSH=128`);
  assertEquals(plain.sessionParams, ["KDR=0", "WSH=128"]);
  assertEquals(isUsableCrypto(plain), true);
  assertEquals(serializeCrypto(plain), `2 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY} KDR=0 WSH=128`);
  // several keys with MKIs
  const multi = parseCrypto(`3 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|1:1;inline:${RFC_KEY}|2:1`);
  assertEquals(multi.keys.length, 2);
});

Deno.test("crypto: per-suite key lengths, padded and unpadded base64; unknown suites kept", () => {
  for (const suite of DEFAULT_SDES_SUITES) {
    const k = generateKeySalt(suite);
    const s = SDES_SUITES[suite];
    assertEquals(k.length, s.keyLength + s.saltLength);
    const line = `7 ${suite} inline:${k.exportBase64()}`;
    assert(parseCrypto(line).keys[0]!.key.equals(k));
    const unpadded = line.replace(/=+$/, "");
    assert(parseCrypto(unpadded).keys[0]!.key.equals(k));
  }
  const other = parseCrypto("4 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm");
  assertEquals(other.suite, "F8_128_HMAC_SHA1_80");
  assertEquals(isUsableCrypto(other), false);
});

Deno.test("crypto: malformed attributes are SyntaxError with key material redacted", () => {
  const secret = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk"; // 30 bytes
  const bad = [
    `x AES_CM_128_HMAC_SHA1_80 inline:${secret}`,
    `0 AES_CM_128_HMAC_SHA1_80 inline:${secret}`,
    `1 AES_CM_128_HMAC_SHA1_80`,
    `1 AES_CM_128_HMAC_SHA1_80 uri:${secret}`,
    `1 AES_CM_128_HMAC_SHA1_80 inline:${secret}!!`,
    `1 AES_CM_128_HMAC_SHA1_80 inline:${secret.slice(0, 20)}`, // 15 bytes: wrong length
    `1 AEAD_AES_256_GCM inline:${secret}`, // 30 bytes, needs 44
    `1 AES_CM_128_HMAC_SHA1_80 inline:${secret}|banana`,
    `1 AES_CM_128_HMAC_SHA1_80 inline:${secret}|2^99`,
    `1 AES_CM_128_HMAC_SHA1_80 inline:${secret}|1:0`,
    `1 AES_CM_128_HMAC_SHA1_80 inline:${secret};inline:${secret}`, // two keys without MKI
    `1 AES-CM inline:${secret}`,
    `1 AES_CM_128_HMAC_SHA1_80 inline: ${secret}`,
    `${secret}`,
  ];
  for (const v of bad) {
    throws(() => parseCrypto(v), (err) => {
      assert(err instanceof SyntaxError && err.message.includes("malformed a=crypto"), String(err));
      assert(!err.message.includes(secret), `key leaked: ${err.message}`);
      assert(!err.message.includes(secret.slice(0, 20)), `key leaked: ${err.message}`);
      return true;
    });
  }
  assertEquals(
    redactCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${secret}|2^20;inline:${secret} KDR=0`),
    "1 AES_CM_128_HMAC_SHA1_80 inline:[redacted] [redacted]",
  );
  assertEquals(redactCrypto(secret), "[redacted]");
  assertEquals(redactCrypto(`1 x ${secret}`), "1 [redacted] [redacted]");
  // cryptoOf collects malformed lines instead of throwing
  const { crypto, malformed } = cryptoOf([
    { name: "crypto", value: `1 AES_CM_128_HMAC_SHA1_80 inline:${secret}` },
    { name: "crypto", value: `2 AES_CM_128_HMAC_SHA1_80 inline:${secret}==x` },
    { name: "crypto" },
    { name: "rtpmap", value: "0 PCMU/8000" },
  ]);
  assertEquals(crypto.length, 1);
  assertEquals(malformed.length, 2);
  assert(malformed.every((m) => !m.includes(secret)));
});

Deno.test("crypto: keys never appear in String, JSON, Deno.inspect or node inspect", () => {
  const offer = createCryptoOffer();
  const b64 = offer.map((c) => c.keys[0]!.key.exportBase64());
  const texts = [
    String(offer[0]!.keys[0]!.key),
    `${offer[0]!.keys[0]!.key}`,
    JSON.stringify(offer),
    Deno.inspect(offer, { depth: 10 }),
    inspect(offer, { depth: 10 }),
  ];
  for (const t of texts) {
    for (const k of b64) assert(!t.includes(k), `key leaked in ${t}`);
    assert(t.includes("redacted"), t);
  }
  const k = new SrtpKeySalt(new Uint8Array([1, 2, 3]));
  const copy = k.exportBytes();
  copy[0] = 9;
  assertEquals(k.exportBytes(), new Uint8Array([1, 2, 3]));
  k.wipe();
  assertEquals(k.exportBytes(), new Uint8Array(3));
});

Deno.test("crypto: offer has one line per suite with fresh distinct keys", () => {
  const a = createCryptoOffer();
  const b = createCryptoOffer();
  assertEquals(a.map((c) => c.tag), [1, 2, 3, 4]);
  assertEquals(a.map((c) => c.suite), [...DEFAULT_SDES_SUITES]);
  for (let i = 0; i < a.length; i++) assert(!a[i]!.keys[0]!.key.equals(b[i]!.keys[0]!.key));
  const only = createCryptoOffer({ suites: ["AES_CM_128_HMAC_SHA1_80"] });
  assertEquals(only.length, 1);
  // the attribute goes through the SDP serializer and back
  const sdp = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 4000 RTP/SAVP 0",
    "a=rtpmap:0 PCMU/8000",
    "",
  ].join("\r\n");
  const parsed = parseSdp(sdp);
  parsed.media[0]!.attributes.push(...only.map(cryptoAttribute));
  const back = parseSdp(serializeSdp(parsed));
  const { crypto } = cryptoOf(back.media[0]!.attributes);
  assertEquals(crypto.length, 1);
  assert(crypto[0]!.keys[0]!.key.equals(only[0]!.keys[0]!.key));
});

Deno.test("crypto: answer picks the first offered suite both support, with a new key; offerer accepts it", () => {
  const offer: SdesCrypto[] = [
    parseCrypto(`1 F8_128_HMAC_SHA1_80 inline:${RFC_KEY}`),
    parseCrypto(`2 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4`), // MKI: not usable
    parseCrypto(`3 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY} WSH=256`),
    parseCrypto(`4 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`),
  ];
  const r = selectCryptoAnswer(offer);
  assert(r !== null);
  assertEquals(r.answer.tag, 3);
  assertEquals(r.answer.suite, "AES_CM_128_HMAC_SHA1_32");
  assertEquals(r.negotiated.replayWindow, 256);
  assert(r.negotiated.remote.equals(offer[2]!.keys[0]!.key));
  assert(!r.negotiated.local.equals(r.negotiated.remote));
  assert(r.answer.keys[0]!.key.equals(r.negotiated.local));
  // restricted to 80-bit tags, tag 4 wins
  assertEquals(selectCryptoAnswer(offer, { suites: ["AES_CM_128_HMAC_SHA1_80"] })?.answer.tag, 4);
  assertEquals(selectCryptoAnswer(offer.slice(0, 2)), null);

  // offerer side
  const ours = createCryptoOffer();
  const theirs = selectCryptoAnswer(ours, { suites: ["AEAD_AES_128_GCM"] })!;
  const wire = parseCrypto(serializeCrypto(theirs.answer));
  const n = acceptCryptoAnswer(ours, [wire]);
  assertEquals(n.suite, "AEAD_AES_128_GCM");
  assert(n.local.equals(ours[1]!.keys[0]!.key));
  assert(n.remote.equals(theirs.negotiated.local));
  throws(() => acceptCryptoAnswer(ours, []), { name: "RangeError", message: new RegExp("expected 1") });
  throws(() => acceptCryptoAnswer(ours, [{ ...wire, tag: 9 }]), {
    name: "RangeError",
    message: new RegExp("not offered"),
  });
  throws(() => acceptCryptoAnswer(ours, [{ ...wire, suite: "AEAD_AES_256_GCM" }]), {
    name: "RangeError",
    message: new RegExp("suite"),
  });
});

Deno.test("crypto policy: off / offered / required, over TLS and plain signalling", () => {
  assertEquals(planCryptoOffer("off", { secureSignalling: true }), { crypto: false, protocol: "RTP/AVP" });
  assertEquals(planCryptoOffer("offered", { secureSignalling: true }), { crypto: true, protocol: "RTP/AVP" });
  assertEquals(planCryptoOffer("required", { secureSignalling: true }), {
    crypto: true,
    protocol: "RTP/SAVP",
  });
  // plain UDP never offers SDES keys
  assertEquals(planCryptoOffer("offered", { secureSignalling: false }), {
    crypto: false,
    protocol: "RTP/AVP",
  });
  assert("error" in planCryptoOffer("required", { secureSignalling: false }));

  const tls = { secureSignalling: true };
  const withCrypto = {
    protocol: "RTP/SAVP",
    attributes: [{ name: "crypto", value: `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}` }],
  };
  const plain = { protocol: "RTP/AVP", attributes: [{ name: "rtpmap", value: "0 PCMU/8000" }] };
  const unusable = {
    protocol: "RTP/SAVP",
    attributes: [{ name: "crypto", value: `1 F8_128_HMAC_SHA1_80 inline:${RFC_KEY}` }],
  };

  const req = judgeCryptoOffer("required", plain, tls);
  assertEquals(req, { srtp: false, status: 488, reason: "SRTP required: offer has no a=crypto" });
  assertEquals(judgeCryptoOffer("required", unusable, tls), {
    srtp: false,
    status: 488,
    reason: "SRTP required: no supported crypto suite",
  });
  const ok = judgeCryptoOffer("required", withCrypto, tls);
  assert(ok.srtp && ok.crypto.length === 1);
  assertEquals(judgeCryptoOffer("offered", plain, tls), { srtp: false });
  assert(judgeCryptoOffer("offered", withCrypto, tls).srtp);
  assertEquals(judgeCryptoOffer("offered", unusable, tls), {
    srtp: false,
    status: 488,
    reason: "no supported crypto suite",
  });
  assertEquals(judgeCryptoOffer("off", withCrypto, tls), {
    srtp: false,
    status: 488,
    reason: "SRTP not enabled for this extension",
  });
  assertEquals(judgeCryptoOffer("off", { ...withCrypto, protocol: "RTP/AVP" }, tls), { srtp: false });
  // plain signalling: keys would be in clear
  const udp = { secureSignalling: false };
  assertEquals(judgeCryptoOffer("offered", { ...withCrypto, protocol: "RTP/AVP" }, udp), { srtp: false });
  const r = judgeCryptoOffer("required", withCrypto, udp);
  assert(!r.srtp && "status" in r && r.status === 488 && !r.reason.includes(RFC_KEY));
});
