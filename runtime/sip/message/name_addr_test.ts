import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { formatNameAddr, getTag, parseNameAddr } from "./mod.ts";

Deno.test("name-addr with quoted display name, URI params and header params", () => {
  const na = parseNameAddr('"Alice \\"A\\" Smith" <sip:alice@example.com;transport=tcp> ;tag=88sja8x;q=0.7');
  strictEqual(na.displayName, 'Alice "A" Smith');
  strictEqual(na.uri, "sip:alice@example.com;transport=tcp");
  deepStrictEqual([...na.params], [["tag", "88sja8x"], ["q", "0.7"]]);
  strictEqual(
    formatNameAddr(na),
    '"Alice \\"A\\" Smith" <sip:alice@example.com;transport=tcp>;tag=88sja8x;q=0.7',
  );
});

Deno.test("addr-spec without <> gives its ;params to the header", () => {
  const na = parseNameAddr("sip:bob@example.com;tag=abc;expires=60");
  strictEqual(na.uri, "sip:bob@example.com");
  deepStrictEqual([...na.params], [["tag", "abc"], ["expires", "60"]]);
  strictEqual(na.displayName, undefined);
  strictEqual(formatNameAddr(na), "<sip:bob@example.com>;tag=abc;expires=60");
});

Deno.test("token display names, with or without space before <", () => {
  strictEqual(parseNameAddr("Bob <sip:bob@h>").displayName, "Bob");
  strictEqual(parseNameAddr("caller<sip:caller@h>").displayName, "caller");
  strictEqual(parseNameAddr("<sip:caller@h>").displayName, undefined);
  strictEqual(
    formatNameAddr({ displayName: "Bob Smith", uri: "sip:b@h", params: new Map() }),
    "Bob Smith <sip:b@h>",
  );
  strictEqual(
    formatNameAddr({ displayName: "Smith, Bob", uri: "sip:b@h", params: new Map() }),
    '"Smith, Bob" <sip:b@h>',
  );
});

Deno.test("malformed name-addrs throw SyntaxError", () => {
  for (
    const bad of [
      '"Mr. J. User <sip:j@h>',
      "<sip:j@h",
      "< sip:j@h >",
      "Bell, Alexander <sip:a@h>",
      "",
      "sip:a@h?Route=x",
      "<sip:a@h>;;",
      "<sip:a@h>;tag=",
      "<sip:a@h> junk",
      '<sip:a@h>;x="open',
      "<notauri>",
    ]
  ) {
    throws(() => parseNameAddr(bad), SyntaxError, bad);
  }
});

Deno.test("getTag finds the tag in From/To values and tolerates junk", () => {
  strictEqual(getTag("<sip:a@h>;tag=xyz"), "xyz");
  strictEqual(getTag("sip:a@h;TAG=xyz"), "xyz");
  strictEqual(getTag("<sip:a@h;tag=uri-param>"), undefined);
  strictEqual(getTag("<sip:a@h>;tag"), undefined);
  strictEqual(getTag('"broken <sip:a@h>'), undefined);
});
