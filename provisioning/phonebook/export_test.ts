import { assert, assertEquals, assertIncludes, assertNotIncludes, assertThrows } from "../_test_assert.ts";
import { PHONEBOOK_FORMATS, renderPhonebook } from "./export.ts";
import type { Contact } from "../types.ts";

const contacts: Contact[] = [
  { name: "Zoë Müller", number: "201", kind: "extension" },
  { name: "Evil </Name><Telephone>999</Telephone> & \"co\" 'x'", number: "0049<script>", kind: "external" },
  { name: "Ctrl\u0001Char", number: "202" },
];

Deno.test("Yealink phone book escapes hostile names and keeps UTF-8", () => {
  const { body, contentType } = renderPhonebook(contacts, "yealink");
  assertEquals(contentType, "application/xml");
  assertIncludes(body, "<YealinkIPPhoneDirectory>");
  assertIncludes(body, "<Name>Zoë Müller</Name>");
  assertIncludes(
    body,
    "Evil &lt;/Name&gt;&lt;Telephone&gt;999&lt;/Telephone&gt; &amp; &quot;co&quot; &apos;x&apos;",
  );
  assertIncludes(body, "<Telephone>0049&lt;script&gt;</Telephone>");
  assertNotIncludes(body, "\u0001");
  assertEquals(body.match(/<Telephone>/g)?.length, 3, "no injected entries");
});

Deno.test("Cisco and Polycom phone books have their documented shapes", () => {
  const cisco = renderPhonebook(contacts, "cisco").body;
  assertIncludes(cisco, "<CiscoIPPhoneDirectory>");
  assertIncludes(cisco, "<DirectoryEntry>");
  assertEquals(cisco.match(/<DirectoryEntry>/g)?.length, 3);
  const poly = renderPhonebook(contacts, "polycom").body;
  assertIncludes(poly, "<directory>\n <item_list>");
  assertIncludes(poly, "<fn>Zoë</fn>");
  assertIncludes(poly, "<ln>Müller</ln>");
  assertIncludes(poly, "<ct>201</ct>");
  assertEquals(poly.match(/<item>/g)?.length, 3);
});

Deno.test("JSON phone book round-trips hostile names exactly", () => {
  const parsed = JSON.parse(renderPhonebook(contacts, "json").body) as { name: string; number: string }[];
  assertEquals(parsed.length, 3);
  assert(parsed.some((c) => c.name === contacts[1]!.name));
});

Deno.test("every format renders an empty list; unknown format is a RangeError", () => {
  for (const f of PHONEBOOK_FORMATS) assert(renderPhonebook([], f).body.length > 0);
  assertThrows(() => renderPhonebook([], "vcard"), RangeError, "vcard");
});
