import { deepStrictEqual as assertEquals, match as assertMatch, throws as assertThrows } from "node:assert";
import { computeAuthorization, digestResponse, ha1 } from "./digest.ts";
import { parseAuthParams } from "./params.ts";

Deno.test("RFC 2617 section 3.5 example: Mufasa gets response 6629fae49393a05397450978507c4ef1", () => {
  const header = computeAuthorization({
    method: "GET",
    uri: "/dir/index.html",
    username: "Mufasa",
    password: "Circle Of Life",
    challenge: 'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
      'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    nc: 1,
    cnonce: "0a4f113b",
  });
  const { params } = parseAuthParams(header);
  assertEquals(params.get("response"), "6629fae49393a05397450978507c4ef1");
  assertEquals(params.get("nc"), "00000001");
  assertEquals(params.get("qop"), "auth");
  assertEquals(params.get("opaque"), "5ccc069c403ebaf9f0171e9517f40e41");
  assertEquals(params.get("algorithm"), undefined);
});

Deno.test("RFC 7616 section 3.9.1 example: SHA-256 and MD5 responses", () => {
  const base = {
    realm: "http-auth@example.org",
    nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  };
  const response = (algorithm: "MD5" | "SHA-256") =>
    digestResponse({
      algorithm,
      ha1: ha1(algorithm, "Mufasa", base.realm, "Circle of Life"),
      nonce: base.nonce,
      method: "GET",
      uri: "/dir/index.html",
      qop: "auth",
      nc: "00000001",
      cnonce: base.cnonce,
    });
  assertEquals(response("SHA-256"), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  assertEquals(response("MD5"), "8ca523f5e9506fed4657c9700eebdbec");
});

Deno.test("computeAuthorization without qop uses the RFC 2069 digest and sends no nc", () => {
  const header = computeAuthorization({
    method: "REGISTER",
    uri: "sip:pbx",
    username: "u",
    password: "p",
    challenge: 'Digest realm="r", nonce="n", algorithm=MD5',
  });
  const { params } = parseAuthParams(header);
  assertEquals(params.has("nc"), false);
  assertEquals(params.has("cnonce"), false);
  assertEquals(params.get("algorithm"), "MD5");
  assertMatch(params.get("response") ?? "", /^[0-9a-f]{32}$/);
});

Deno.test("computeAuthorization rejects unsupported schemes and algorithms", () => {
  const base = { method: "INVITE", uri: "sip:x", username: "u", password: "p" };
  assertThrows(() => computeAuthorization({ ...base, challenge: 'Basic realm="r"' }), RangeError);
  assertThrows(
    () => computeAuthorization({ ...base, challenge: 'Digest realm="r", nonce="n", algorithm=SHA-512-256' }),
    RangeError,
  );
  assertThrows(() => computeAuthorization({ ...base, challenge: 'Digest realm="r"' }), SyntaxError);
  assertThrows(() => computeAuthorization({ ...base, challenge: 'Digest realm="r' }), SyntaxError);
});
