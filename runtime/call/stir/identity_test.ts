import { deepStrictEqual as assertEquals, throws } from "node:assert";
import {
  formatIdentityHeader,
  normalizeTn,
  parseIdentityHeader,
  tnFromUri,
  withVerstat,
} from "./identity.ts";

const JWS = "eyJhbGciOiJFUzI1NiJ9.eyJhdHRlc3QiOiJBIn0.c2ln";

Deno.test("parseIdentityHeader: full form with bracketed info and params", () => {
  const h = parseIdentityHeader(`${JWS};info=<https://cert.example.org/sp.pem>;alg=ES256;ppt="shaken"`);
  assertEquals(h.passport, JWS);
  assertEquals(h.info, "https://cert.example.org/sp.pem");
  assertEquals(h.alg, "ES256");
  assertEquals(h.ppt, "shaken");
});

Deno.test("parseIdentityHeader: a ';' inside <info> does not split", () => {
  const h = parseIdentityHeader(`${JWS} ; info=<https://c.example/a;b.pem> ; ppt=shaken`);
  assertEquals(h.info, "https://c.example/a;b.pem");
  assertEquals(h.alg, undefined);
});

Deno.test("parseIdentityHeader: bad input gets a SyntaxError with a reason", () => {
  throws(() => parseIdentityHeader("garbage;info=<https://x/>"), { name: "SyntaxError", message: /JWS/ });
  throws(() => parseIdentityHeader(`${JWS};alg=ES256`), { name: "SyntaxError", message: /info/ });
  throws(() => parseIdentityHeader("eyJh..c2ln;info=<https://x/>"), {
    name: "SyntaxError",
    message: /compact-form/,
  });
  throws(() => parseIdentityHeader("a$b.c.d;info=<https://x/>"), {
    name: "SyntaxError",
    message: /base64url/,
  });
  throws(() => parseIdentityHeader(`${JWS};info=<https://x/${"a".repeat(9000)}>`), {
    name: "SyntaxError",
    message: /longer/,
  });
});

Deno.test("formatIdentityHeader round-trips and refuses an info URL that would break the header", () => {
  const v = formatIdentityHeader(JWS, { info: "https://c.example/sp.pem" });
  assertEquals(v, `${JWS};info=<https://c.example/sp.pem>;alg=ES256;ppt=shaken`);
  assertEquals(parseIdentityHeader(v).info, "https://c.example/sp.pem");
  throws(() => formatIdentityHeader(JWS, { info: "https://c/x>;y" }), TypeError);
});

Deno.test("normalizeTn strips + and visual separators, refuses non-numbers", () => {
  assertEquals(normalizeTn("+1 (215) 555-1212"), "12155551212");
  assertEquals(normalizeTn("1.215.555.1212"), "12155551212");
  assertEquals(normalizeTn("alice"), undefined);
  assertEquals(normalizeTn(""), undefined);
  assertEquals(normalizeTn("+"), undefined);
});

Deno.test("tnFromUri reads sip/sips/tel user parts inside name-addr values", () => {
  assertEquals(tnFromUri(`"Bob" <sip:+1-215-555-1212@carrier.example;user=phone>;tag=abc`), "12155551212");
  assertEquals(tnFromUri("<tel:+12155551212;phone-context=x>"), "12155551212");
  assertEquals(tnFromUri("sips:12155551212@h"), "12155551212");
  assertEquals(tnFromUri("sip:%2B12155551212@h"), "12155551212");
  assertEquals(tnFromUri("<sip:alice@h>"), undefined);
  assertEquals(tnFromUri("<sip:h>"), undefined);
  assertEquals(tnFromUri("mailto:a@b"), undefined);
});

Deno.test("withVerstat adds the URI parameter inside brackets and replaces a caller-supplied one", () => {
  assertEquals(
    withVerstat(`"Bob" <sip:+12155551212@h;user=phone>;tag=1`, "TN-Validation-Passed"),
    `"Bob" <sip:+12155551212@h;user=phone;verstat=TN-Validation-Passed>;tag=1`,
  );
  assertEquals(
    withVerstat("<sip:+1215@h;verstat=TN-Validation-Passed?X=1>", "TN-Validation-Failed"),
    "<sip:+1215@h;verstat=TN-Validation-Failed?X=1>",
  );
  assertEquals(
    withVerstat("sip:+1215@h;tag=9", "No-TN-Validation"),
    "<sip:+1215@h;verstat=No-TN-Validation>;tag=9",
  );
  assertEquals(withVerstat("tel:+1215", "No-TN-Validation"), "<tel:+1215;verstat=No-TN-Validation>");
  assertEquals(withVerstat("nonsense", "No-TN-Validation"), "nonsense");
});
