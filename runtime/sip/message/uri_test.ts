import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { formatUri, parseUri } from "./mod.ts";

Deno.test("sip URI with user, password, port, params and headers parses and round-trips", () => {
  const u = parseUri("sip:alice:secret@Example.com:5070;transport=TCP;lr?subject=hi&priority=urgent");
  strictEqual(u.scheme, "sip");
  strictEqual(u.user, "alice");
  strictEqual(u.password, "secret");
  strictEqual(u.host, "Example.com");
  strictEqual(u.port, 5070);
  deepStrictEqual([...u.params], [["transport", "TCP"], ["lr", null]]);
  deepStrictEqual([...u.headers], [["subject", "hi"], ["priority", "urgent"]]);
  strictEqual(formatUri(u), "sip:alice:secret@Example.com:5070;transport=TCP;lr?subject=hi&priority=urgent");
});

Deno.test("IPv6 hosts are stored without brackets and formatted with them", () => {
  const u = parseUri("sips:[2001:db8::10]:5061");
  strictEqual(u.scheme, "sips");
  strictEqual(u.host, "2001:db8::10");
  strictEqual(u.port, 5061);
  strictEqual(formatUri(u), "sips:[2001:db8::10]:5061");
  strictEqual(parseUri("sip:bob@[::ffff:192.0.2.1]").host, "::ffff:192.0.2.1");
});

Deno.test("escaped characters decode on parse and re-escape on format", () => {
  const u = parseUri("sip:I%20have%20spaces@example.net;n%61me=v%61lue%25%34%31");
  strictEqual(u.user, "I have spaces");
  strictEqual(u.params.get("name"), "value%41");
  strictEqual(formatUri(u), "sip:I%20have%20spaces@example.net;name=value%2541");
  strictEqual(parseUri("sip:%E2%82%AC@h").user, "€");
});

Deno.test("tel and unknown schemes are accepted", () => {
  const t = parseUri("tel:+1-201-555-0123;phone-context=example.com");
  strictEqual(t.scheme, "tel");
  strictEqual(t.user, "+1-201-555-0123");
  strictEqual(t.params.get("phone-context"), "example.com");
  strictEqual(formatUri(t), "tel:+1-201-555-0123;phone-context=example.com");
  const h = parseUri("http://www.example.com/x");
  strictEqual(h.opaque, "//www.example.com/x");
  strictEqual(formatUri(h), "http://www.example.com/x");
});

Deno.test("malformed URIs throw SyntaxError naming the URI", () => {
  for (
    const bad of [
      "",
      "sip:",
      "bob@example.com",
      "sip:bob@",
      "sip:@h",
      "sip:b%zz@h",
      "sip:h:99999",
      "sip:h:x",
      "sip:[::1",
      "sip:bo b@h",
      "sip:h;;lr",
      "1sip:h",
      "sip:<h>",
      "sip:h;=x",
    ]
  ) {
    throws(() => parseUri(bad), SyntaxError, bad);
  }
});
