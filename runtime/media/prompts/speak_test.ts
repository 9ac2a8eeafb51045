import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert";
import {
  countWords,
  dateTimeWords,
  digitWords,
  durationWords,
  numberWords,
  ordinalWords,
  timeWords,
  yearWords,
} from "./mod.ts";

Deno.test("numbers are spoken in English words, 0 to billions", () => {
  assertEquals(numberWords(0), "zero");
  assertEquals(numberWords(7), "seven");
  assertEquals(numberWords(13), "thirteen");
  assertEquals(numberWords(21), "twenty one");
  assertEquals(numberWords(40), "forty");
  assertEquals(numberWords(100), "one hundred");
  assertEquals(numberWords(105), "one hundred five");
  assertEquals(numberWords(999), "nine hundred ninety nine");
  assertEquals(numberWords(1000), "one thousand");
  assertEquals(numberWords(1234), "one thousand two hundred thirty four");
  assertEquals(numberWords(20_015), "twenty thousand fifteen");
  assertEquals(numberWords(1_000_001), "one million one");
  assertEquals(numberWords(3_000_000_000), "three billion");
  assertEquals(numberWords(-5), "minus five");
  assertThrows(() => numberWords(1.5), RangeError);
  assertThrows(() => numberWords(Number.NaN), RangeError);
});

Deno.test("ordinals: first, second, twenty first, twelfth, thirtieth", () => {
  assertEquals(ordinalWords(1), "first");
  assertEquals(ordinalWords(2), "second");
  assertEquals(ordinalWords(3), "third");
  assertEquals(ordinalWords(5), "fifth");
  assertEquals(ordinalWords(12), "twelfth");
  assertEquals(ordinalWords(21), "twenty first");
  assertEquals(ordinalWords(30), "thirtieth");
  assertEquals(ordinalWords(31), "thirty first");
  assertEquals(ordinalWords(100), "one hundredth");
});

Deno.test("counts agree with the noun: no, one, three new messages", () => {
  assertEquals(countWords(0, "new message"), "no new messages");
  assertEquals(countWords(1, "new message"), "one new message");
  assertEquals(countWords(3, "new message"), "three new messages");
  assertEquals(countWords(21, "saved message"), "twenty one saved messages");
  assertEquals(countWords(2, "mailbox", "mailboxes"), "two mailboxes");
  assertThrows(() => countWords(-1, "x"), RangeError);
});

Deno.test("telephone numbers are spoken digit by digit, with star and pound", () => {
  assertEquals(digitWords("+1 555-0100"), "plus one five five five zero one zero zero");
  assertEquals(digitWords("*97#"), "star nine seven pound");
  assertThrows(() => digitWords("12a"), { name: "SyntaxError", message: /"a"/ });
  assertThrows(() => digitWords(" - "), SyntaxError);
});

Deno.test("times and dates: Tuesday, December first at three fifteen PM", () => {
  assertEquals(timeWords(15, 15), "three fifteen PM");
  assertEquals(timeWords(9, 5), "nine oh five AM");
  assertEquals(timeWords(12, 0), "twelve PM");
  assertEquals(timeWords(0, 30), "twelve thirty AM");
  assertThrows(() => timeWords(24, 0), RangeError);
  const when = Date.UTC(2026, 11, 1, 15, 15); // Tuesday 1 December 2026
  assertEquals(dateTimeWords(when, { timeZone: "UTC" }), "Tuesday, December first at three fifteen PM");
  assertEquals(
    dateTimeWords(when, { timeZone: "America/New_York", year: true }),
    "Tuesday, December first twenty twenty six at ten fifteen AM",
  );
  assertEquals(
    dateTimeWords(new Date(Date.UTC(2026, 0, 22)), { timeZone: "UTC", dateOnly: true }),
    "Thursday, January twenty second",
  );
  assertThrows(() => dateTimeWords(new Date("nope")), RangeError);
  assertThrows(() => dateTimeWords(when, { timeZone: "Mars/Olympus" }), RangeError);
  assertEquals(yearWords(2000), "two thousand");
  assertEquals(yearWords(2005), "two thousand five");
  assertEquals(yearWords(1905), "nineteen oh five");
  assertEquals(durationWords(75), "one minute fifteen seconds");
  assertEquals(durationWords(1), "one second");
  assertEquals(durationWords(0), "zero seconds");
  assertEquals(durationWords(120), "two minutes");
});
