import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert";
import { formatChallenge, parseAuthParams } from "./params.ts";

Deno.test("parseAuthParams reads quoted and token values with lower-case names", () => {
  const { scheme, params } = parseAuthParams(
    'Digest USERNAME="bob", Realm="biloxi.com",nonce="a\\"b\\\\c" , nc=00000001,qop=auth, uri=sip:bob@biloxi.com',
  );
  assertEquals(scheme, "Digest");
  assertEquals(params.get("username"), "bob");
  assertEquals(params.get("realm"), "biloxi.com");
  assertEquals(params.get("nonce"), 'a"b\\c');
  assertEquals(params.get("nc"), "00000001");
  assertEquals(params.get("qop"), "auth");
  assertEquals(params.get("uri"), "sip:bob@biloxi.com");
});

Deno.test("parseAuthParams tolerates folded whitespace and empty list elements", () => {
  const { params } = parseAuthParams('Digest\r\n realm = "r" ,, \t nonce="n",');
  assertEquals([...params], [["realm", "r"], ["nonce", "n"]]);
});

Deno.test("parseAuthParams accepts a bare scheme", () => {
  const { scheme, params } = parseAuthParams("Digest");
  assertEquals(scheme, "Digest");
  assertEquals(params.size, 0);
});

Deno.test("parseAuthParams throws SyntaxError on malformed lists", () => {
  for (
    const bad of [
      "",
      "   ",
      '"Digest"',
      'Digest realm="unterminated',
      "Digest realm",
      'Digest realm="a" nonce="b"',
      'Digest realm="a", realm="b"',
      "Digest =x",
      'Digest, realm="a"',
    ]
  ) {
    assertThrows(() => parseAuthParams(bad), SyntaxError, bad);
  }
});

Deno.test("formatChallenge quotes values and parses back", () => {
  const text = formatChallenge({
    realm: 'we "quote"',
    nonce: "abc",
    opaque: "o",
    algorithm: "SHA-256",
    qop: "auth",
    stale: true,
  });
  assertEquals(
    text,
    'Digest realm="we \\"quote\\"", nonce="abc", opaque="o", stale=TRUE, algorithm=SHA-256, qop="auth"',
  );
  const { params } = parseAuthParams(text);
  assertEquals(params.get("realm"), 'we "quote"');
  assertEquals(params.get("stale"), "TRUE");
});
