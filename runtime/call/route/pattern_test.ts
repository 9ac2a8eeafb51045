import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { matches, overlaps, parsePattern } from "./pattern.ts";

const p = parsePattern;

Deno.test("an exact number matches only itself", () => {
  ok(matches(p("201"), "201"));
  ok(!matches(p("201"), "2011"));
  ok(!matches(p("201"), "20"));
  ok(matches(p("*72"), "*72"));
});

Deno.test("X, Z, N, sets and ranges match the digits Asterisk users expect", () => {
  ok(matches(p("_NXX"), "200"));
  ok(!matches(p("_NXX"), "100"));
  ok(matches(p("_Z0"), "10"));
  ok(!matches(p("_Z0"), "00"));
  ok(matches(p("_[13-5]"), "4"));
  ok(!matches(p("_[13-5]"), "2"));
  ok(matches(p("_nxx"), "999"), "classes are case-insensitive");
});

Deno.test("a final '.' needs one more character, a final '!' takes none or more", () => {
  ok(!matches(p("_011."), "011"));
  ok(matches(p("_011."), "01149"));
  ok(matches(p("_*80XX!"), "*8020"));
  ok(matches(p("_*80XX!"), "*80201"));
  ok(!matches(p("_*80XX!"), "*802"));
});

Deno.test("the strip mark and the literal prefix are measured for trunks and feature-code arguments", () => {
  const t = p("_9|NXXNXXXXXX");
  eq(t.stripLength, 1);
  ok(matches(t, "92125551234"));
  eq(p("_*80XX!").literalPrefixLength, 3);
  eq(p("_**XX!").literalPrefixLength, 2);
});

Deno.test("malformed patterns are SyntaxErrors naming what is wrong", () => {
  throws(() => p(""), SyntaxError);
  throws(() => p("_9.X"), /only end a pattern/);
  throws(() => p("_[12"), /unclosed/);
  throws(() => p("_|9"), /"\|" must follow/);
  throws(() => p("_"), /no positions/);
  throws(() => p("20 1"), /may hold only/);
  throws(() => p("_9?"), /unexpected "\?"/);
});

Deno.test("overlap: exact numbers, patterns and tails", () => {
  ok(overlaps(p("201"), p("201")));
  ok(!overlaps(p("201"), p("202")));
  ok(overlaps(p("201"), p("_2XX")));
  ok(!overlaps(p("101"), p("_2XX")));
  ok(overlaps(p("_9."), p("901")), "an outside-line prefix takes extension 901");
  ok(!overlaps(p("9"), p("_9.")), "'.' needs a character after the 9");
  ok(overlaps(p("9"), p("_9!")));
  ok(!overlaps(p("*80"), p("_*80XX!")), "exact *80 is not intercom *80NN");
  ok(!overlaps(p("*802"), p("_*80XX!")));
  ok(overlaps(p("*8020"), p("_*80XX!")));
  ok(overlaps(p("_*80XX!"), p("_*8XXX")));
  ok(!overlaps(p("*8"), p("_**XX!")));
  ok(overlaps(p("_0."), p("_01!")));
  ok(!overlaps(p("_[12]X"), p("_3X")));
});
