import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  throws as assertThrows,
} from "node:assert";
import { parseSdp, serializeSdp } from "./parse.ts";
import { ALL_SAMPLES, BARESIP, RFC8866, YEALINK } from "./_samples_test_data.ts";
import { codecsOf, directionOf, ptimeOf } from "./media.ts";
import { negotiate } from "./offer_answer.ts";

Deno.test("real-world SDPs round-trip byte for byte", () => {
  for (const [name, text] of Object.entries(ALL_SAMPLES)) {
    assertEquals(serializeSdp(parseSdp(text)), text, name);
  }
});

Deno.test("LF-only SDP parses like CRLF and serializes with CRLF", () => {
  const lf = YEALINK.replaceAll("\r\n", "\n");
  assertEquals(parseSdp(lf), parseSdp(YEALINK));
  assertEquals(serializeSdp(parseSdp(lf)), YEALINK);
});

Deno.test("parseSdp fills the model: origin, connection, bandwidth, media fields", () => {
  const sd = parseSdp(BARESIP);
  assertEquals(sd.origin, {
    username: "-",
    sessionId: "1947651426",
    sessionVersion: "2396218543",
    netType: "IN",
    addrType: "IP4",
    address: "127.0.0.1",
  });
  assertEquals(sd.connection, { netType: "IN", addrType: "IP4", address: "127.0.0.1" });
  const m = sd.media[0]!;
  assertEquals([m.type, m.port, m.protocol, m.formats], ["audio", 10030, "RTP/AVP", [
    "96",
    "9",
    "0",
    "8",
    "101",
  ]]);
  assertEquals(m.bandwidths, [{ type: "AS", value: 128 }]);
  assertEquals(m.attributes[0], { name: "rtpmap", value: "96 opus/48000/2" });
  assertEquals(m.attributes.find((a) => a.name === "rtcp-mux"), { name: "rtcp-mux" });
});

Deno.test("session ids beyond 2^53 survive unchanged", () => {
  const text = "v=0\r\no=- 18446744073709551615 18446744073709551615 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n";
  assertEquals(parseSdp(text).origin.sessionId, "18446744073709551615");
  assertEquals(serializeSdp(parseSdp(text)), text);
});

Deno.test("unknown line types, blank lines and a missing t= are tolerated", () => {
  const sd = parseSdp(
    "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\ny=session-extra\n\nm=audio 4000 RTP/AVP 0\nx=media-extra\n",
  );
  assertEquals(sd.otherLines, [{ type: "y", value: "session-extra" }]);
  assertEquals(sd.media[0]?.otherLines, [{ type: "x", value: "media-extra" }]);
  assertEquals(sd.timing, [{ start: 0, stop: 0, repeats: [] }]);
  const again = serializeSdp(sd);
  assert(again.includes("y=session-extra\r\n") && again.includes("x=media-extra\r\n"));
  assertEquals(parseSdp(again), sd);
});

Deno.test("RFC 8866 example keeps i/u/e/p lines and the media-level IPv6 connection", () => {
  const sd = parseSdp(RFC8866);
  assertEquals(sd.emails, ["Jane Doe <jane@jdoe.example.com>"]);
  assertEquals(sd.phones, ["+1 617 555-6011"]);
  assertEquals(sd.media.length, 3);
  assertEquals(sd.media[2]?.connection, { netType: "IN", addrType: "IP6", address: "2001:db8::2" });
});

Deno.test("malformed SDP throws SyntaxError naming the line", () => {
  const cases: [string, RegExp][] = [
    ["", /no v= line/],
    ["hello", /line 1/],
    ["v=1\r\n", /line 1: unsupported SDP version/],
    ["o=- 1 1 IN IP4 a\r\n", /line 1: SDP must start with v=/],
    ["v=0\r\ns=-\r\n", /line 2: expected o=/],
    ["v=0\r\no=- 1 1 IN IP4\r\n", /line 2: o= needs 6 fields/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4\r\n", /line 4: c= needs 3 fields/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n", /line 5: port out of range/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n", /line 5: port is not a number/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 4000\r\n", /line 5: m= needs/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nb=AS\r\n", /line 4: b= needs/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=now 0\r\n", /line 4: start time/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nr=7d 1h 0 25h\r\n", /line 4: r= before any t=/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na rtpmap\r\n", /line 5/],
    ["v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\ns=again\r\n", /line 4: repeated s=/],
  ];
  for (const [text, message] of cases) {
    assertThrows(() => parseSdp(text), (e: unknown) => {
      assert(e instanceof SyntaxError, `${JSON.stringify(text)} threw ${e}`);
      assertMatch(e.message, message);
      return true;
    });
  }
});

Deno.test("fuzzed SDP only ever throws SyntaxError, and helpers never throw on what parses", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = "v=o0 1:/\r\na=rtpmap:fmtp:m=audioc=IN IP4 0.0.0.0 -\u0000\u00ff\ud800\uffff";
  const samples = Object.values(ALL_SAMPLES);
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const base = samples[i % samples.length]!;
    const chars = [...base];
    const edits = 1 + Math.floor(rand() * 6);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rand() * chars.length);
      const op = rand();
      if (op < 0.4) chars[at] = alphabet[Math.floor(rand() * alphabet.length)]!;
      else if (op < 0.7) chars.splice(at, 1 + Math.floor(rand() * 10));
      else chars.splice(at, 0, alphabet[Math.floor(rand() * alphabet.length)]!);
    }
    const text = chars.join("");
    try {
      const sd = parseSdp(text);
      parsed++;
      serializeSdp(sd);
      for (const m of sd.media) {
        codecsOf(m);
        directionOf(m, sd);
        ptimeOf(m, sd);
        negotiate(m, [{ name: "PCMU", clockRate: 8000 }, { name: "telephone-event", clockRate: 8000 }], {
          session: sd,
        });
      }
    } catch (e) {
      assert(e instanceof SyntaxError, `non-SyntaxError ${e} for ${JSON.stringify(text)}`);
    }
  }
  assert(parsed > 100, `only ${parsed} mutated inputs parsed`);
});
