import { deepStrictEqual as eq } from "node:assert";
import { directoryMatches, keypadDigits, spelledName } from "./directory.ts";

const PEOPLE = [
  { number: "201", name: "Alice Smith" },
  { number: "202", name: "Bob Jones" },
  { number: "203", name: "Carla Smyth" },
  { number: "204", name: "José Álvarez" },
  { number: "205", name: "" },
  { number: "206", name: "Reception" },
  { number: "207", name: "Dave Smith" },
];

Deno.test("keypadDigits maps letters to keys, folds accents and drops the rest", () => {
  eq(keypadDigits("Smith"), "76484");
  eq(keypadDigits("Álvarez"), "2582739");
  eq(keypadDigits("O'Neil-2"), "66345");
  eq(keypadDigits("123"), "");
});

Deno.test("spelledName is the first or last word; a one-word name is both", () => {
  eq(spelledName("Alice  Smith ", "last"), "Smith");
  eq(spelledName("Alice Smith", "first"), "Alice");
  eq(spelledName("Reception", "last"), "Reception");
  eq(spelledName("  ", "first"), "");
});

Deno.test("directoryMatches finds by the first keys of the last or first name, in name order", () => {
  eq(directoryMatches(PEOPLE, "76", "last").map((e) => e.number), ["201", "207", "203"]);
  eq(directoryMatches(PEOPLE, "7648", "last").map((e) => e.number), ["201", "207"]);
  eq(directoryMatches(PEOPLE, "258", "last").map((e) => e.number), ["204"]);
  eq(directoryMatches(PEOPLE, "262", "first").map((e) => e.number), ["202"]);
  eq(directoryMatches(PEOPLE, "732", "last").map((e) => e.number), ["206"]);
  eq(directoryMatches(PEOPLE, "999", "last"), []);
  eq(directoryMatches(PEOPLE, "", "last"), [], "no keys: no list of everyone");
  eq(directoryMatches(PEOPLE, "1#", "last"), [], "not letter keys");
});
