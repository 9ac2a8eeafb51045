import {
  deepStrictEqual as assertEquals,
  ok as assert,
  strictEqual as assertStrictEquals,
  throws,
} from "node:assert";
import { getHeader, getHeaderValues, parseCSeq, parseMessage } from "../message/mod.ts";
import type { SipHeader, SipRequest, SipResponse } from "../message/types.ts";
import { Dialog, dialogKey } from "./dialog.ts";

const VIA = { transport: "udp", host: "192.0.2.1", port: 5060 } as const;

function invite(extra: SipHeader[] = []): SipRequest {
  return {
    type: "request",
    method: "INVITE",
    uri: "sip:bob@pbx.example.com",
    headers: [
      { name: "Via", value: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv" },
      { name: "From", value: '"Alice" <sip:alice@example.com>;tag=alicetag' },
      { name: "To", value: "<sip:bob@pbx.example.com>" },
      { name: "Call-ID", value: "call-9" },
      { name: "CSeq", value: "10 INVITE" },
      { name: "Contact", value: "<sip:alice@192.0.2.10:5060>" },
      ...extra,
    ],
    body: new Uint8Array(0),
  };
}

function ok(req: SipRequest, extra: SipHeader[]): SipResponse {
  return {
    type: "response",
    status: 200,
    reason: "OK",
    headers: [
      ...req.headers.filter((h) => h.name !== "Contact" && h.name !== "To"),
      { name: "To", value: "<sip:bob@pbx.example.com>;tag=bobtag" },
      ...extra,
    ],
    body: new Uint8Array(0),
  };
}

function inDialog(method: string, cseq: number, contact?: string): SipRequest {
  const headers: SipHeader[] = [
    { name: "Via", value: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx" },
    { name: "From", value: "<sip:alice@example.com>;tag=alicetag" },
    { name: "To", value: "<sip:bob@pbx.example.com>;tag=ourtag" },
    { name: "Call-ID", value: "call-9" },
    { name: "CSeq", value: `${cseq} ${method}` },
  ];
  if (contact !== undefined) headers.push({ name: "Contact", value: contact });
  return { type: "request", method, uri: "sip:bob@192.0.2.1", headers, body: new Uint8Array(0) };
}

Deno.test("UAS dialog takes route set in order, remote target and remote CSeq from the INVITE", () => {
  const req = invite([
    { name: "Record-Route", value: "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>" },
    { name: "Record-Route", value: "<sip:p3.example.com;lr>" },
  ]);
  const d = Dialog.fromUasRequest(req, "ourtag", "<sip:pbx@192.0.2.1:5060>");
  assertEquals(d.callId, "call-9");
  assertEquals(d.localTag, "ourtag");
  assertEquals(d.remoteTag, "alicetag");
  assertEquals(d.remoteSeq, 10);
  assertStrictEquals(d.localSeq, undefined);
  assertEquals(d.remoteTarget, "sip:alice@192.0.2.10:5060");
  assertEquals(d.remoteUri, "sip:alice@example.com");
  assertEquals(d.localUri, "sip:bob@pbx.example.com");
  assertEquals(d.routeSet, ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"]);
  assertEquals(d.key, dialogKey("call-9", "ourtag", "alicetag"));
  assertEquals(d.secure, false);
});

Deno.test("UAC dialog reverses the response's Record-Route and takes local CSeq from the request", () => {
  const req = invite();
  const res = ok(req, [
    { name: "Record-Route", value: "<sip:p3.example.com;lr>, <sip:p2.example.com;lr>" },
    { name: "Contact", value: "<sip:bob@192.0.2.20:5070;transport=udp>" },
  ]);
  const d = Dialog.fromUacResponse(req, res);
  assertEquals(d.localTag, "alicetag");
  assertEquals(d.remoteTag, "bobtag");
  assertEquals(d.localSeq, 10);
  assertStrictEquals(d.remoteSeq, undefined);
  assertEquals(d.remoteTarget, "sip:bob@192.0.2.20:5070;transport=udp");
  assertEquals(d.routeSet, ["<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"]);
  assertEquals(d.localContact, "<sip:alice@192.0.2.10:5060>");
});

Deno.test("in-dialog request with a loose route set: Request-URI is the remote target, Route is the set", () => {
  const req = invite();
  const d = Dialog.fromUacResponse(
    req,
    ok(req, [
      { name: "Record-Route", value: "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>" },
      { name: "Contact", value: "<sip:bob@192.0.2.20>" },
    ]),
  );
  const bye = d.createRequest("BYE", { via: VIA });
  assertEquals(bye.uri, "sip:bob@192.0.2.20");
  assertEquals(getHeaderValues(bye, "Route"), ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
  assertEquals(parseCSeq(getHeader(bye, "CSeq")!), { seq: 11, method: "BYE" });
  assertEquals(getHeader(bye, "From"), "<sip:alice@example.com>;tag=alicetag");
  assertEquals(getHeader(bye, "To"), "<sip:bob@pbx.example.com>;tag=bobtag");
  assertEquals(getHeader(bye, "Call-ID"), "call-9");
  assert(getHeader(bye, "Via")!.startsWith("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK"));
  assertStrictEquals(getHeader(bye, "Contact"), undefined, "BYE is no target refresh");
  const reinvite = d.createRequest("INVITE", { via: VIA, body: "v=0\r\n", contentType: "application/sdp" });
  assertEquals(parseCSeq(getHeader(reinvite, "CSeq")!).seq, 12);
  assertEquals(getHeader(reinvite, "Contact"), "<sip:alice@192.0.2.10:5060>");
  assertEquals(getHeader(reinvite, "Content-Type"), "application/sdp");
  assertEquals(getHeader(reinvite, "Content-Length"), "5");
  assert(getHeader(bye, "Via") !== getHeader(reinvite, "Via"), "each request has a fresh branch");
});

Deno.test("in-dialog request with a strict router: Request-URI is the first route, remote target goes last", () => {
  const req = invite();
  const d = Dialog.fromUacResponse(
    req,
    ok(req, [
      { name: "Record-Route", value: "<sip:p2.example.com;lr>, <sip:p1.example.com;method=INVITE>" },
      { name: "Contact", value: "<sip:bob@192.0.2.20>" },
    ]),
  );
  const bye = d.createRequest("BYE", { via: VIA });
  assertEquals(bye.uri, "sip:p1.example.com");
  assertEquals(getHeaderValues(bye, "Route"), ["<sip:p2.example.com;lr>", "<sip:bob@192.0.2.20>"]);
});

Deno.test("in-dialog request without a route set goes straight to the remote target", () => {
  const d = Dialog.fromUasRequest(invite(), "ourtag", "<sip:pbx@192.0.2.1>");
  const bye = d.createRequest("BYE", { via: VIA, headers: [{ name: "Reason", value: "Q.850;cause=16" }] });
  assertEquals(bye.uri, "sip:alice@192.0.2.10:5060");
  assertEquals(getHeaderValues(bye, "Route"), []);
  assertEquals(getHeader(bye, "From"), "<sip:bob@pbx.example.com>;tag=ourtag");
  assertEquals(getHeader(bye, "To"), "<sip:alice@example.com>;tag=alicetag");
  assertEquals(getHeader(bye, "Reason"), "Q.850;cause=16");
  const seq = parseCSeq(getHeader(bye, "CSeq")!).seq;
  assert(seq >= 1 && seq < 2 ** 31);
  assertEquals(d.localSeq, seq);
});

Deno.test("ACK for a 2xx keeps the INVITE's CSeq and createRequest refuses ACK and CANCEL", () => {
  const req = invite();
  const d = Dialog.fromUacResponse(req, ok(req, [{ name: "Contact", value: "<sip:bob@192.0.2.20>" }]));
  const ack = d.createAck(10, { via: VIA });
  assertEquals(getHeader(ack, "CSeq"), "10 ACK");
  assertEquals(ack.uri, "sip:bob@192.0.2.20");
  assertEquals(d.localSeq, 10);
  throws(() => d.createRequest("ACK", { via: VIA }), TypeError);
  throws(() => d.createRequest("CANCEL", { via: VIA }), TypeError);
});

Deno.test("a request with a lower CSeq than the remote sequence is refused (500), equal or higher accepted", () => {
  const d = Dialog.fromUasRequest(invite(), "ourtag", "<sip:pbx@192.0.2.1>");
  assertStrictEquals(d.acceptsRequest(inDialog("ACK", 10)), true);
  assertStrictEquals(d.acceptsRequest(inDialog("INFO", 9)), false);
  assertStrictEquals(d.acceptsRequest(inDialog("INFO", 11)), true);
  assertEquals(d.remoteSeq, 11);
  assertStrictEquals(d.acceptsRequest(inDialog("INFO", 10)), false);
  const bad = inDialog("INFO", 12);
  bad.headers.find((h) => h.name === "CSeq")!.value = "twelve INFO";
  assertStrictEquals(d.acceptsRequest(bad), false);
});

Deno.test("UAC dialog starts with an empty remote sequence and takes the first request's CSeq", () => {
  const req = invite();
  const d = Dialog.fromUacResponse(req, ok(req, [{ name: "Contact", value: "<sip:bob@192.0.2.20>" }]));
  assertStrictEquals(d.acceptsRequest(inDialog("BYE", 1)), true);
  assertEquals(d.remoteSeq, 1);
});

Deno.test("a re-INVITE's Contact refreshes the remote target; a BYE's does not", () => {
  const d = Dialog.fromUasRequest(invite(), "ourtag", "<sip:pbx@192.0.2.1>");
  d.acceptsRequest(inDialog("INVITE", 11, "<sip:alice@198.51.100.7:5062>"));
  assertEquals(d.remoteTarget, "sip:alice@198.51.100.7:5062");
  d.acceptsRequest(inDialog("BYE", 12, "<sip:alice@203.0.113.1>"));
  assertEquals(d.remoteTarget, "sip:alice@198.51.100.7:5062");
});

Deno.test("a 2xx to our re-INVITE refreshes the remote target", () => {
  const req = invite();
  const d = Dialog.fromUacResponse(req, ok(req, [{ name: "Contact", value: "<sip:bob@192.0.2.20>" }]));
  d.updateFromResponse(ok(req, [{ name: "Contact", value: "<sip:bob@192.0.2.21>" }]), "INVITE");
  assertEquals(d.remoteTarget, "sip:bob@192.0.2.21");
});

Deno.test("a dialog cannot be built from an INVITE without Contact", () => {
  const req = invite();
  req.headers = req.headers.filter((h) => h.name !== "Contact");
  throws(() => Dialog.fromUasRequest(req, "t", "<sip:pbx@192.0.2.1>"), TypeError);
});

Deno.test("a dialog built from a parsed INVITE holds equal strings and builds the same requests", () => {
  const wire = "INVITE sip:bob@pbx.example.com SIP/2.0\r\n" +
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv\r\n" +
    "Max-Forwards: 70\r\n" +
    'From: "Alice" <sip:alice@example.com>;tag=alicetag-with-a-long-value\r\n' +
    "To: <sip:bob@pbx.example.com>\r\n" +
    "Call-ID: call-9-with-a-long-identifier@192.0.2.10\r\n" +
    "CSeq: 10 INVITE\r\n" +
    "Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n" +
    "Record-Route: <sip:proxy.example.com;lr>\r\n" +
    "Content-Length: 0\r\n\r\n";
  const parsed = parseMessage(new TextEncoder().encode(wire)) as SipRequest;
  const d = Dialog.fromUasRequest(parsed, "pbxtag", "<sip:pbx@192.0.2.1>");
  assertEquals(d.callId, "call-9-with-a-long-identifier@192.0.2.10");
  assertEquals(d.remoteTag, "alicetag-with-a-long-value");
  assertEquals(d.remoteTarget, "sip:alice@192.0.2.10:5060;transport=udp");
  assertEquals(d.routeSet, ["<sip:proxy.example.com;lr>"]);
  const bye = d.createRequest("BYE", { via: VIA });
  assertEquals(getHeader(bye, "Call-ID"), "call-9-with-a-long-identifier@192.0.2.10");
  assertEquals(getHeaderValues(bye, "Route"), ["<sip:proxy.example.com;lr>"]);
});
