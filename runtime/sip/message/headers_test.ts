import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  addHeader,
  canonicalHeaderName,
  detachString,
  getHeader,
  getHeaderValues,
  prependHeader,
  removeHeader,
  setHeader,
  type SipRequest,
} from "./mod.ts";

function msg(headers: Array<[string, string]>): SipRequest {
  return {
    type: "request",
    method: "OPTIONS",
    uri: "sip:x@y",
    headers: headers.map(([name, value]) => ({ name, value })),
    body: new Uint8Array(0),
  };
}

Deno.test("canonicalHeaderName expands compact forms and fixes well-known capitalization", () => {
  strictEqual(canonicalHeaderName("v"), "Via");
  strictEqual(canonicalHeaderName("I"), "Call-ID");
  strictEqual(canonicalHeaderName("call-id"), "Call-ID");
  strictEqual(canonicalHeaderName("CSEQ"), "CSeq");
  strictEqual(canonicalHeaderName("www-authenticate"), "WWW-Authenticate");
  strictEqual(canonicalHeaderName("mime-version"), "MIME-Version");
  strictEqual(canonicalHeaderName("o"), "Event");
  strictEqual(canonicalHeaderName("x"), "Session-Expires");
  strictEqual(canonicalHeaderName("X-Custom-Thing"), "X-Custom-Thing");
});

Deno.test("getHeader matches any case and compact forms, including unknown headers", () => {
  const m = msg([["Call-ID", "abc"], ["X-Foo", "1"], ["X-Foo", "2"]]);
  strictEqual(getHeader(m, "i"), "abc");
  strictEqual(getHeader(m, "CALL-id"), "abc");
  strictEqual(getHeader(m, "x-foo"), "1");
  strictEqual(getHeader(m, "Missing"), undefined);
});

Deno.test("getHeaderValues splits lists outside quotes and <>, across repeated lines", () => {
  const m = msg([
    ["Contact", '"Doe, John" <sip:j@h;x=a,b>;q=0.5, <sip:k@h>'],
    ["Contact", "sip:l@h"],
    ["Via", "SIP/2.0/UDP a;branch=z9hG4bK1 , SIP/2.0/TCP b;branch=z9hG4bK2,,"],
  ]);
  deepStrictEqual(getHeaderValues(m, "m"), ['"Doe, John" <sip:j@h;x=a,b>;q=0.5', "<sip:k@h>", "sip:l@h"]);
  deepStrictEqual(getHeaderValues(m, "Via"), [
    "SIP/2.0/UDP a;branch=z9hG4bK1",
    "SIP/2.0/TCP b;branch=z9hG4bK2",
  ]);
});

Deno.test("getHeaderValues never splits WWW-Authenticate, Authorization or Date", () => {
  const auth = 'Digest realm="pbx", nonce="abc", algorithm=MD5, qop="auth,auth-int"';
  const m = msg([
    ["WWW-Authenticate", auth],
    ["Authorization", auth],
    ["Proxy-Authenticate", auth],
    ["Date", "Sat, 13 Nov 2010 23:29:00 GMT"],
  ]);
  deepStrictEqual(getHeaderValues(m, "www-authenticate"), [auth]);
  deepStrictEqual(getHeaderValues(m, "Authorization"), [auth]);
  deepStrictEqual(getHeaderValues(m, "Proxy-Authenticate"), [auth]);
  deepStrictEqual(getHeaderValues(m, "Date"), ["Sat, 13 Nov 2010 23:29:00 GMT"]);
});

Deno.test("setHeader replaces all instances in place; addHeader appends canonically", () => {
  const m = msg([["Via", "a"], ["Route", "r1"], ["Route", "r2"], ["To", "t"]]);
  setHeader(m, "route", "r3");
  deepStrictEqual(m.headers.map((h) => `${h.name}:${h.value}`), ["Via:a", "Route:r3", "To:t"]);
  setHeader(m, "i", "cid");
  addHeader(m, "l", "0");
  deepStrictEqual(m.headers.slice(-2), [{ name: "Call-ID", value: "cid" }, {
    name: "Content-Length",
    value: "0",
  }]);
});

Deno.test("prependHeader puts a new Via above the existing ones", () => {
  const m = msg([["To", "t"], ["Via", "old"]]);
  prependHeader(m, "v", "new");
  deepStrictEqual(m.headers.map((h) => h.value), ["t", "new", "old"]);
  prependHeader(m, "Record-Route", "rr");
  strictEqual(m.headers[0]!.name, "Record-Route");
});

Deno.test("removeHeader removes every instance and counts them", () => {
  const m = msg([["Via", "a"], ["X-A", "1"], ["x-a", "2"], ["To", "t"]]);
  strictEqual(removeHeader(m, "X-A"), 2);
  strictEqual(removeHeader(m, "Route"), 0);
  deepStrictEqual(m.headers.map((h) => h.name), ["Via", "To"]);
});

Deno.test("detachString returns an equal string, short, long and empty", () => {
  const text = "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nCSeq: 314159 INVITE\r\n";
  const long = text.slice(9, text.indexOf("\r\n"));
  strictEqual(detachString(long), "a84b4c76e66710@pc33.atlanta.com");
  strictEqual(detachString("abc"), "abc");
  strictEqual(detachString(""), "");
});
