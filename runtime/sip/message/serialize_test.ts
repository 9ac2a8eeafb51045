import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { getHeader, parseMessage, serializeMessage, type SipRequest } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function request(body = ""): SipRequest {
  return {
    type: "request",
    method: "MESSAGE",
    uri: "sip:bob@example.com",
    headers: [
      { name: "Via", value: "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1" },
      { name: "To", value: "<sip:bob@example.com>" },
      { name: "From", value: "<sip:alice@example.com>;tag=1" },
      { name: "Call-ID", value: "c1" },
      { name: "CSeq", value: "1 MESSAGE" },
      { name: "Content-Length", value: "999" },
      { name: "Content-Type", value: "text/plain" },
    ],
    body: enc.encode(body),
  };
}

Deno.test("serializeMessage writes CRLF lines and replaces Content-Length in place", () => {
  const text = dec.decode(serializeMessage(request("héllo")));
  strictEqual(
    text,
    "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nTo: <sip:bob@example.com>\r\n" +
      "From: <sip:alice@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 6\r\n" +
      "Content-Type: text/plain\r\n\r\nhéllo",
  );
});

Deno.test("serializeMessage appends Content-Length: 0 when there was none", () => {
  const m = request();
  m.headers = m.headers.filter((h) => h.name !== "Content-Length");
  strictEqual(
    dec.decode(serializeMessage(m)).endsWith("Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n"),
    true,
  );
});

Deno.test("serialize then parse gives the same message, binary body included", () => {
  const m = request();
  m.body = new Uint8Array([0, 1, 2, 255, 13, 10, 13, 10, 0]);
  const back = parseMessage(serializeMessage(m));
  deepStrictEqual(back.body, m.body);
  strictEqual(getHeader(back, "Content-Length"), "9");
  deepStrictEqual(back.headers.map((h) => h.name), m.headers.map((h) => h.name));
});

Deno.test("responses serialize with status line", () => {
  const text = dec.decode(
    serializeMessage({
      type: "response",
      status: 486,
      reason: "Busy Here",
      headers: [],
      body: new Uint8Array(0),
    }),
  );
  strictEqual(text, "SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n");
});

Deno.test("CR or LF inside a header value is refused with TypeError", () => {
  const m = request();
  m.headers.push({ name: "Subject", value: "x\r\nVia: injected" });
  throws(() => serializeMessage(m), TypeError);
});
