import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { createResponse, getHeader, getTag, parseMessage, reasonPhrase, type SipRequest } from "./mod.ts";

const enc = new TextEncoder();

function invite(): SipRequest {
  const m = parseMessage(enc.encode(
    "INVITE sip:bob@example.com SIP/2.0\r\n" +
      "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n" +
      "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2, SIP/2.0/UDP ua.example.com;branch=z9hG4bK3\r\n" +
      "Record-Route: <sip:p1.example.com;lr>\r\n" +
      "To: Bob <sip:bob@example.com>\r\n" +
      "From: Alice <sip:alice@example.com>;tag=a1\r\n" +
      "Call-ID: cid-1\r\nCSeq: 7 INVITE\r\nTimestamp: 54\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  ));
  if (m.type !== "request") throw new TypeError("expected request");
  return m;
}

Deno.test("createResponse copies Vias in order, From, To, Call-ID and CSeq but not Record-Route", () => {
  const r = createResponse(invite(), 180, { toTag: "b2" });
  strictEqual(r.reason, "Ringing");
  deepStrictEqual(r.headers.map((h) => h.name), ["Via", "Via", "From", "To", "Call-ID", "CSeq"]);
  strictEqual(
    r.headers[1]!.value,
    "SIP/2.0/UDP p2.example.com;branch=z9hG4bK2, SIP/2.0/UDP ua.example.com;branch=z9hG4bK3",
  );
  strictEqual(getTag(getHeader(r, "To")!), "b2");
  strictEqual(getHeader(r, "CSeq"), "7 INVITE");
});

Deno.test("createResponse keeps an existing To tag", () => {
  const req = invite();
  req.headers = req.headers.map((h) =>
    h.name === "To" ? { name: "To", value: "<sip:bob@example.com>;tag=old" } : h
  );
  strictEqual(getTag(getHeader(createResponse(req, 200, { toTag: "new" }), "To")!), "old");
});

Deno.test("100 Trying echoes Timestamp; body, content type, reason and extra headers are applied", () => {
  strictEqual(getHeader(createResponse(invite(), 100), "Timestamp"), "54");
  const r = createResponse(invite(), 488, {
    reason: "No Codec",
    headers: [{ name: "Warning", value: '399 pbx "no codec"' }],
    body: enc.encode("x"),
    contentType: "text/plain",
  });
  strictEqual(r.reason, "No Codec");
  strictEqual(getHeader(r, "Warning"), '399 pbx "no codec"');
  strictEqual(getHeader(r, "Content-Type"), "text/plain");
  strictEqual(r.body.length, 1);
  strictEqual(getHeader(r, "Timestamp"), undefined);
});

Deno.test("reasonPhrase knows the standard codes and falls back per class", () => {
  strictEqual(reasonPhrase(486), "Busy Here");
  strictEqual(reasonPhrase(513), "Message Too Large");
  strictEqual(reasonPhrase(499), "Client Error");
  throws(() => createResponse(invite(), 99), RangeError);
  throws(() => createResponse(invite(), 700), RangeError);
});

Deno.test("every response but 100 gets a To tag when the request has none (RFC 3261 8.2.6.2)", () => {
  for (const method of ["OPTIONS", "REGISTER", "INVITE"]) {
    const req = invite();
    req.method = method;
    req.headers = req.headers.map((h) => h.name === "CSeq" ? { name: "CSeq", value: `7 ${method}` } : h);
    for (const status of [200, 401, 403, 404, 486]) {
      const tag = getTag(getHeader(createResponse(req, status), "To")!);
      strictEqual(typeof tag, "string", `${method} ${status}`);
      strictEqual(/^[0-9a-f]{16}$/.test(tag!), true, `${method} ${status}: ${tag}`);
    }
    strictEqual(getTag(getHeader(createResponse(req, 100), "To")!), undefined);
  }
  // A UAC's own 408/503 (section 8.1.3.1) comes from no UAS: toTag null leaves To untouched.
  strictEqual(getTag(getHeader(createResponse(invite(), 408, { toTag: null }), "To")!), undefined);
  // Two responses to one request do not have to share a tag, but an explicit one wins.
  strictEqual(getTag(getHeader(createResponse(invite(), 180, { toTag: "mine" }), "To")!), "mine");
});
