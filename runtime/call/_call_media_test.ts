import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert";
import { parseInfoDtmf } from "./_call_media.ts";

Deno.test("INFO application/dtmf-relay gives the digit and its duration", () => {
  assertEquals(parseInfoDtmf("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), {
    digit: "5",
    durationMs: 160,
  });
  assertEquals(parseInfoDtmf("Application/DTMF-Relay", "Signal= #\nDuration= 250"), {
    digit: "#",
    durationMs: 250,
  });
  assertEquals(parseInfoDtmf("application/dtmf-relay", "Signal=11\r\n"), { digit: "#", durationMs: 160 });
});

Deno.test("INFO application/dtmf carries the digit alone", () => {
  assertEquals(parseInfoDtmf("application/dtmf", "7\r\n"), { digit: "7", durationMs: 160 });
});

Deno.test("INFO of another type is not DTMF; a DTMF type without a digit is a SyntaxError", () => {
  assertEquals(parseInfoDtmf("application/media_control+xml", "<x/>"), null);
  assertEquals(parseInfoDtmf(undefined, ""), null);
  assertThrows(() => parseInfoDtmf("application/dtmf-relay", "Duration=100"), SyntaxError);
  assertThrows(() => parseInfoDtmf("application/dtmf", "xyz"), SyntaxError);
});
