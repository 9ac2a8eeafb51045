import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { getHeader, parseMessage, type SipMessage, SipParseError } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const BASE = [
  "INVITE sip:bob@example.com SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
  "Max-Forwards: 70",
  "To: Bob <sip:bob@example.com>",
  "From: Alice <sip:alice@example.com>;tag=1928301774",
  "Call-ID: a84b4c76e66710@pc33.example.com",
  "CSeq: 314159 INVITE",
  "Contact: <sip:alice@pc33.example.com>",
];

function bytes(lines: string[], body = "", eol = "\r\n"): Uint8Array {
  return enc.encode(lines.join(eol) + eol + eol + body);
}

function error(data: Uint8Array): SipParseError {
  try {
    parseMessage(data);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error("expected a SipParseError");
}

Deno.test("a plain INVITE parses into method, URI, canonical headers and body", () => {
  const m = parseMessage(bytes([...BASE, "Content-Type: text/plain", "Content-Length: 5"], "hello"));
  strictEqual(m.type, "request");
  if (m.type !== "request") return;
  strictEqual(m.method, "INVITE");
  strictEqual(m.uri, "sip:bob@example.com");
  strictEqual(m.headers[0]!.name, "Via");
  strictEqual(dec.decode(m.body), "hello");
});

Deno.test("compact header names map to canonical long names", () => {
  const m = parseMessage(bytes([
    "OPTIONS sip:x@example.com SIP/2.0",
    "v: SIP/2.0/UDP h;branch=z9hG4bK1",
    "t: <sip:x@example.com>",
    "f: <sip:y@example.com>;tag=1",
    "i: abc",
    "CSEQ: 1 OPTIONS",
    "m: <sip:y@h>",
    "l: 0",
    "c: text/plain",
    "k: path",
    "o: presence",
    "u: dialog",
    "r: <sip:z@example.com>",
    "b: <sip:y@example.com>",
    "x: 1800",
    "y: abc",
    "a: *;audio",
    "j: *;video",
    "d: proxy",
    "e: gzip",
    "s: hi",
    'www-authenticate: Digest realm="x"',
    "mime-version: 1.0",
  ]));
  deepStrictEqual(m.headers.map((h) => h.name), [
    "Via",
    "To",
    "From",
    "Call-ID",
    "CSeq",
    "Contact",
    "Content-Length",
    "Content-Type",
    "Supported",
    "Event",
    "Allow-Events",
    "Refer-To",
    "Referred-By",
    "Session-Expires",
    "Identity",
    "Accept-Contact",
    "Reject-Contact",
    "Request-Disposition",
    "Content-Encoding",
    "Subject",
    "WWW-Authenticate",
    "MIME-Version",
  ]);
});

Deno.test("bare LF line ends are tolerated", () => {
  const m = parseMessage(bytes([...BASE, "Content-Length: 2"], "hi", "\n"));
  strictEqual(getHeader(m, "Call-ID"), "a84b4c76e66710@pc33.example.com");
  strictEqual(dec.decode(m.body), "hi");
});

Deno.test("folded header lines are joined with a single space", () => {
  const m = parseMessage(bytes([...BASE, "Subject: one", "\t two", "   three"]));
  strictEqual(getHeader(m, "Subject"), "one two three");
});

Deno.test("leading CRLFs before the start line are skipped", () => {
  const m = parseMessage(enc.encode("\r\n\r\n" + BASE.join("\r\n") + "\r\n\r\n"));
  strictEqual(m.type, "request");
});

Deno.test("datagram body is cut to Content-Length and the rest ignored", () => {
  const m = parseMessage(bytes([...BASE, "Content-Length: 3"], "abcdef"));
  strictEqual(dec.decode(m.body), "abc");
});

Deno.test("datagram without Content-Length takes the rest of the datagram as body", () => {
  const m = parseMessage(bytes(BASE, "v=0\r\n"));
  strictEqual(dec.decode(m.body), "v=0\r\n");
});

Deno.test("body shorter than Content-Length is a 400 with partial", () => {
  const e = error(bytes([...BASE, "Content-Length: 10"], "abc"));
  strictEqual(e.status, 400);
  ok(e.message.includes("Content-Length"));
  strictEqual(getHeader(e.partial!, "CSeq"), "314159 INVITE");
});

Deno.test("negative, non-numeric and duplicated Content-Length are rejected", () => {
  error(bytes([...BASE, "Content-Length: -1"]));
  error(bytes([...BASE, "Content-Length: five"]));
  error(bytes([...BASE, "Content-Length: 0", "l: 0"]));
});

Deno.test("each missing mandatory header is named in the error", () => {
  for (const name of ["Via", "To", "From", "Call-ID", "CSeq"]) {
    const e = error(bytes(BASE.filter((l) => !l.startsWith(name + ":"))));
    ok(e.message.includes(name), e.message);
    ok(e.partial !== undefined);
  }
});

Deno.test("a request without Max-Forwards is accepted", () => {
  parseMessage(bytes(BASE.filter((l) => !l.startsWith("Max-Forwards"))));
});

Deno.test("Max-Forwards must be a number up to 255", () => {
  error(bytes([...BASE.filter((l) => !l.startsWith("Max-Forwards")), "Max-Forwards: 256"]));
  error(bytes([...BASE.filter((l) => !l.startsWith("Max-Forwards")), "Max-Forwards: ten"]));
});

Deno.test("CSeq number above 2**32-1 or method mismatch is rejected", () => {
  const csq = (v: string) => bytes([...BASE.filter((l) => !l.startsWith("CSeq")), `CSeq: ${v}`]);
  parseMessage(csq("4294967295 INVITE"));
  error(csq("4294967296 INVITE"));
  error(csq("1 invite"));
  error(csq("INVITE"));
});

Deno.test("method names are case-sensitive tokens", () => {
  const m = parseMessage(
    bytes(["invite sip:bob@example.com SIP/2.0", ...BASE.slice(1, 6), "CSeq: 1 invite"]),
  );
  strictEqual(m.type === "request" && m.method, "invite");
  error(bytes(["INV:ITE sip:bob@example.com SIP/2.0", ...BASE.slice(1)]));
});

Deno.test("unterminated quotes or angle brackets in From/To/Contact are rejected", () => {
  const swap = (name: string, v: string) =>
    bytes([...BASE.filter((l) => !l.startsWith(name + ":")), `${name}: ${v}`]);
  error(swap("From", '"Alice <sip:alice@example.com>;tag=1'));
  error(swap("To", "<sip:bob@example.com"));
  error(swap("Contact", "<sip:alice@pc33.example.com"));
  error(swap("Contact", '"x <sip:alice@pc33.example.com>'));
  parseMessage(swap("Contact", "*"));
});

Deno.test("status lines: code must be 3 digits 100..699, reason may be empty", () => {
  const resp = (line: string) =>
    bytes([
      line,
      "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
      "To: <sip:a@b>;tag=2",
      "From: <sip:c@d>;tag=1",
      "Call-ID: x",
      "CSeq: 1 INVITE",
    ]);
  const ok180 = parseMessage(resp("SIP/2.0 180 Ringing"));
  strictEqual(ok180.type === "response" && ok180.reason, "Ringing");
  const bare = parseMessage(resp("SIP/2.0 200"));
  strictEqual(bare.type === "response" && bare.reason, "");
  error(resp("SIP/2.0 99 Low"));
  error(resp("SIP/2.0 700 High"));
  error(resp("SIP/2.0 2000 Big"));
  strictEqual(error(resp("SIP/3.0 200 OK")).status, 505);
});

Deno.test("SIP version must be SIP/2.0; other versions get status 505", () => {
  const e = error(bytes(["OPTIONS sip:x@y SIP/3.0", ...BASE.slice(1)]));
  strictEqual(e.status, 505);
  strictEqual(error(bytes(["OPTIONS sip:x@y HTTP/1.1", ...BASE.slice(1)])).status, 400);
});

Deno.test("garbage start line gives an error without partial", () => {
  const e = error(enc.encode("\x00\x01\x02 garbage\r\n\r\n"));
  ok(e instanceof SyntaxError);
  strictEqual(e.partial, undefined);
  error(new Uint8Array(0));
  error(enc.encode("\r\n\r\n"));
});

Deno.test("header line without a colon or with a bad name is rejected with partial", () => {
  const e = error(bytes([...BASE, "this line has no colon"]));
  ok(e.partial !== undefined);
  error(bytes([...BASE, "Bad Name: x"]));
  error(bytes([BASE[0]!, " folded-first: x", ...BASE.slice(1)]));
});

Deno.test("headers without the terminating empty line are rejected", () => {
  const e = error(enc.encode(BASE.join("\r\n") + "\r\n"));
  ok(e.partial !== undefined);
});

Deno.test("header values keep a leading BOM and non-ASCII text", () => {
  const m: SipMessage = parseMessage(bytes([...BASE, "X-Note: \ufeffgrüße"]));
  strictEqual(getHeader(m, "x-note"), "\ufeffgrüße");
});

Deno.test("Request-URI with headers, brackets or bad escapes is rejected; other schemes pass", () => {
  const ruri = (u: string) => bytes([`OPTIONS ${u} SIP/2.0`, ...BASE.slice(1, 6), "CSeq: 1 OPTIONS"]);
  error(ruri("sip:bob@example.com?Subject=x"));
  error(ruri("<sip:bob@example.com>"));
  error(ruri("sip:b%zzob@example.com"));
  error(ruri("bob@example.com"));
  parseMessage(ruri("tel:+15551234567;phone-context=example.com"));
  parseMessage(ruri("urn:service:sos"));
  parseMessage(ruri("sip:[2001:db8::1]:5070;transport=tcp"));
});
