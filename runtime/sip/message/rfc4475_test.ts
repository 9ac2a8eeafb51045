// The RFC 4475 torture messages, stored byte-exact (CRLF) in testdata/rfc4475/*.sip.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  getHeader,
  getHeaderValues,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  type SipMessage,
  SipParseError,
  type SipRequest,
  type SipResponse,
} from "./mod.ts";

const DIR = new URL("./testdata/rfc4475/", import.meta.url);
const load = (name: string): Uint8Array => Deno.readFileSync(new URL(`${name}.sip`, DIR));
const req = (m: SipMessage): SipRequest => {
  if (m.type !== "request") throw new TypeError("expected a request");
  return m;
};
const res = (m: SipMessage): SipResponse => {
  if (m.type !== "response") throw new TypeError("expected a response");
  return m;
};

function parseFails(name: string): SipParseError {
  try {
    parseMessage(load(name));
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error(`${name} parsed but must be rejected`);
}

// Section 3.1.1: valid messages every parser must accept.
const VALID = [
  "wsinv",
  "intmeth",
  "esc01",
  "escnull",
  "esc02",
  "lwsdisp",
  "longreq",
  "dblreq",
  "semiuri",
  "transports",
  "mpart01",
  "unreason",
  "noreason",
];

for (const name of VALID) {
  Deno.test(`RFC 4475 valid message ${name} parses`, () => {
    const m = parseMessage(load(name));
    ok(m.headers.length > 0);
  });
}

Deno.test("RFC 4475 wsinv: folding, compact forms, odd case and LWS are normalised", () => {
  const m = req(parseMessage(load("wsinv")));
  strictEqual(m.method, "INVITE");
  strictEqual(m.uri, "sip:vivekg@chair-dnrc.example.com;unknownparam");
  strictEqual(m.headers.length, 14);
  strictEqual(getHeader(m, "to"), "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
  strictEqual(parseNameAddr(getHeader(m, "To")!).params.get("tag"), "1918181833n");
  const from = parseNameAddr(getHeader(m, "From")!);
  strictEqual(from.displayName, 'J Rosenberg \\"');
  strictEqual(from.params.get("tag"), "98asjd8");
  strictEqual(getHeader(m, "Max-Forwards"), "0068");
  deepStrictEqual(parseCSeq(getHeader(m, "CSeq")!), { seq: 9, method: "INVITE" });
  strictEqual(getHeader(m, "Subject"), "");
  strictEqual(getHeader(m, "NewFangledHeader"), "newfangled value continued newfangled value");
  strictEqual(getHeader(m, "UnknownHeaderWithUnusualValue"), ";;,,;;,;");
  const vias = getHeaderValues(m, "v").map(parseVia);
  deepStrictEqual(vias.map((v) => [v.transport, v.host, v.params.get("branch")]), [
    ["UDP", "192.0.2.2", "390skdjuw"],
    ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
    ["UDP", "192.168.255.111", "z9hG4bK30239"],
  ]);
  const contact = parseNameAddr(getHeader(m, "Contact")!);
  strictEqual(contact.displayName, 'Quoted string ""');
  strictEqual(contact.uri, "sip:jdrosen@example.com");
  deepStrictEqual([...contact.params], [["newparam", "newvalue"], ["secondparam", null], ["q", "0.33"]]);
  strictEqual(m.body.length, 150);
});

Deno.test("RFC 4475 intmeth: unusual method, URI, quoted controls and UTF-8 survive", () => {
  const m = req(parseMessage(load("intmeth")));
  strictEqual(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
  const u = parseUri(m.uri);
  strictEqual(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  strictEqual(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  strictEqual(u.host, "example.com");
  strictEqual(parseNameAddr(getHeader(m, "To")!).displayName, "BEL:\x07 NUL:\x00 DEL:\x7f");
  const from = parseNameAddr(getHeader(m, "From")!);
  strictEqual(from.displayName, "token1~` token2'+_ token3*%!.-");
  strictEqual(from.params.get("fromparam''~+*_!.-%"), '"работающий"');
  strictEqual(from.params.get("tag"), "_token~1'+`*%!-.");
  strictEqual(getHeader(m, "Call-ID"), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  strictEqual(getHeader(m, "extensionHeader-!.%*+_`'~"), "\ufeff大停電");
  strictEqual(parseVia(getHeader(m, "Via")!).params.get("branch"), "z9hG4bK-.!%66*_+`'~");
});

Deno.test("RFC 4475 esc01 and escnull: %-escapes decode in URI parts, not recursively", () => {
  const m = req(parseMessage(load("esc01")));
  strictEqual(parseUri(m.uri).user, "sips:user@example.com");
  strictEqual(parseUri(parseNameAddr(getHeader(m, "To")!).uri).user, "user");
  strictEqual(parseUri(parseNameAddr(getHeader(m, "From")!).uri).user, "I have spaces");
  const c = parseUri(parseNameAddr(getHeader(m, "Contact")!).uri);
  strictEqual(c.user, "caller");
  deepStrictEqual([...c.params], [["lr", null], ["name", "value%41"]]);
  strictEqual(getHeader(m, "Content-Type"), "application/sdp");

  const n = parseMessage(load("escnull"));
  deepStrictEqual(
    getHeaderValues(n, "Contact").map((v) => parseUri(parseNameAddr(v).uri).user),
    ["\0", "\0\0"],
  );
  strictEqual(parseUri(parseNameAddr(getHeader(n, "To")!).uri).user, "null-\0-null");
});

Deno.test("RFC 4475 esc02: % is not an escape in methods and header names", () => {
  const m = req(parseMessage(load("esc02")));
  strictEqual(m.method, "RE%47IST%45R");
  strictEqual(getHeaderValues(m, "Contact").length, 2);
  strictEqual(getHeader(m, "C%6Fntact"), "<sip:alias2@host2.example.com>");
  strictEqual(parseNameAddr(getHeader(m, "To")!).displayName, "%Z%45");
});

Deno.test("RFC 4475 lwsdisp, longreq, semiuri and transports parse into the right values", () => {
  strictEqual(parseNameAddr(getHeader(parseMessage(load("lwsdisp")), "From")!).displayName, "caller");
  const l = parseMessage(load("longreq"));
  strictEqual(getHeaderValues(l, "Via").length, 34);
  strictEqual(
    parseNameAddr(getHeader(l, "To")!).displayName,
    `I have a user name of ${"extreme".repeat(10)} proportion`,
  );
  strictEqual(parseUri(parseNameAddr(getHeader(l, "To")!).uri).port, 6000);
  strictEqual(parseNameAddr(getHeader(l, "From")!).params.get("tag"), "12" + "982".repeat(50) + "424");
  strictEqual(parseVia(getHeaderValues(l, "Via")[33]!).params.get("received"), "192.0.2.5");
  const s = req(parseMessage(load("semiuri")));
  strictEqual(parseUri(s.uri).user, "user;par=u@example.net");
  strictEqual(getHeaderValues(s, "Accept").length, 6);
  const t = parseMessage(load("transports"));
  deepStrictEqual(getHeaderValues(t, "Via").map((v) => parseVia(v).transport), [
    "UDP",
    "SCTP",
    "TLS",
    "UNKNOWN",
    "TCP",
  ]);
});

Deno.test("RFC 4475 dblreq: octets after Content-Length in a datagram are ignored", () => {
  const m = req(parseMessage(load("dblreq")));
  strictEqual(m.method, "REGISTER");
  strictEqual(m.body.length, 0);
});

Deno.test("RFC 4475 mpart01: a binary multipart body with NULs is framed by Content-Length", () => {
  const m = parseMessage(load("mpart01"));
  strictEqual(m.body.length, Number(getHeader(m, "Content-Length")));
  ok(m.body.includes(0));
  strictEqual(parseVia(getHeader(m, "Via")!).params.get("rport"), null);
  strictEqual(getHeader(m, "Date"), "Sat, 15 Oct 2005 04:44:56 GMT");
});

Deno.test("RFC 4475 unreason and noreason: any reason phrase, including none", () => {
  const u = res(parseMessage(load("unreason")));
  strictEqual(u.status, 200);
  strictEqual(u.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
  strictEqual(u.body.length, 154);
  const n = res(parseMessage(load("noreason")));
  strictEqual(n.status, 100);
  strictEqual(n.reason, "");
});

// Section 3.1.2: invalid messages the parser rejects, with the status a server should answer.
const INVALID: Array<[string, number, boolean]> = [
  ["badinv01", 400, true],
  ["clerr", 400, true],
  ["ncl", 400, true],
  ["scalar02", 400, true],
  ["scalarlg", 400, true],
  ["quotbal", 400, true],
  ["ltgtruri", 400, true],
  ["lwsruri", 400, true],
  ["lwsstart", 400, true],
  ["trws", 400, true],
  ["escruri", 400, true],
  ["regbadct", 400, true],
  ["badaspec", 400, true],
  ["baddn", 400, true],
  ["badvers", 505, true],
  ["mismatch01", 400, true],
  ["mismatch02", 400, true],
  ["bigcode", 400, false],
  // Section 3.3 messages that are malformed at the message level.
  ["insuf", 400, true],
  ["multi01", 400, true],
  ["mcl01", 400, true],
];

for (const [name, status, partial] of INVALID) {
  Deno.test(`RFC 4475 invalid message ${name} throws SipParseError ${status}`, () => {
    const e = parseFails(name);
    strictEqual(e.status, status);
    ok(e instanceof SyntaxError);
    strictEqual(e.partial !== undefined, partial);
  });
}

Deno.test("RFC 4475 invalid requests keep enough in partial to answer them", () => {
  const e = parseFails("quotbal");
  const p = req(e.partial!);
  strictEqual(p.method, "INVITE");
  strictEqual(getHeader(p, "Call-ID"), "quotbal.aksdj");
  strictEqual(getHeader(p, "CSeq"), "8 INVITE");
  ok(getHeader(p, "Via")!.includes("z9hG4bKkdjuw39234"));
});

// Parseable messages whose problem is for a higher layer to judge (RFC 4475 3.1.2.12, 3.2, 3.3).
const HIGHER_LAYER: Array<[string, string]> = [
  ["baddate", "application: Date with a non-GMT zone (only matters if Date is used)"],
  ["badbranch", "transaction: branch is only the magic cookie"],
  ["unkscm", "core: unknown Request-URI scheme, answer 416"],
  ["novelsc", "core: unknown Request-URI scheme, answer 416"],
  ["unksm2", "registrar: non-SIP To/Contact URIs"],
  ["regescrt", "registrar: escaped headers in a Contact URI"],
  ["cparam01", "registrar: addr-spec Contact whose ;param is a header param"],
  ["zeromf", "proxy/UAS: Max-Forwards 0 on OPTIONS is answered, not forwarded"],
];

for (const [name, layer] of HIGHER_LAYER) {
  Deno.test(`RFC 4475 ${name} parses; rejecting it is the job of the ${layer.split(":")[0]} layer`, () => {
    const m = parseMessage(load(name));
    ok(m.headers.length > 0, layer);
  });
}

Deno.test("RFC 4475 badbranch keeps the bare magic cookie as the branch", () => {
  const m = parseMessage(load("badbranch"));
  strictEqual(parseVia(getHeader(m, "Via")!).params.get("branch"), "z9hG4bK");
});
