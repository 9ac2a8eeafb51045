import {
  deepStrictEqual as assertEquals,
  ok as assert,
  strictEqual as assertStrictEquals,
} from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import type { Peer, SipRequest } from "../message/types.ts";
import {
  header,
  recordingTransport,
  request,
  response,
  type Sent,
  TCP_PEER,
  UDP_PEER,
} from "./_test_helpers.ts";
import { TransactionLayer } from "./layer.ts";
import type { ServerTransaction } from "./server.ts";

function setup(options: { fail?: boolean } = {}) {
  const clock = new VirtualClock();
  const transport = recordingTransport(clock, options);
  const seen: { req: SipRequest; tx: ServerTransaction | undefined; source: Peer }[] = [];
  const layer = new TransactionLayer({
    transport,
    clock,
    onRequest: (req, tx, source) => seen.push({ req, tx, source }),
  });
  return { clock, transport, seen, layer };
}

function statuses(sent: Sent[]): number[] {
  return sent.map((s) => (s.msg.type === "response" ? s.msg.status : 0));
}

Deno.test("retransmitted non-INVITE request is absorbed in Trying and gets the final response in Completed", () => {
  const { clock, transport, seen, layer } = setup();
  layer.receive(request("OPTIONS"), UDP_PEER);
  layer.receive(request("OPTIONS"), UDP_PEER);
  assertEquals(seen.length, 1);
  assertEquals(transport.sent.length, 0);
  const tx = seen[0]!.tx!;
  assertEquals(tx.state, "trying");
  tx.respond(response(tx.request, 200));
  assertEquals(tx.state, "completed");
  layer.receive(request("OPTIONS"), UDP_PEER);
  assertEquals(statuses(transport.sent), [200, 200]);
  assertEquals(seen.length, 1);
  clock.advance(64 * 500);
  assertEquals(tx.state, "terminated");
  assertEquals(layer.serverCount, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("non-INVITE server transaction over TCP terminates at once after the final response (Timer J = 0)", () => {
  const { seen, layer, clock } = setup();
  layer.receive(request("REGISTER", { transport: "TCP" }), TCP_PEER);
  const tx = seen[0]!.tx!;
  tx.respond(response(tx.request, 200));
  assertEquals(tx.state, "terminated");
  assertEquals(layer.serverCount, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("non-INVITE retransmission in Proceeding gets the last provisional response", () => {
  const { transport, seen, layer } = setup();
  layer.receive(request("MESSAGE"), UDP_PEER);
  const tx = seen[0]!.tx!;
  tx.respond(response(tx.request, 180));
  assertEquals(tx.state, "proceeding");
  layer.receive(request("MESSAGE"), UDP_PEER);
  assertEquals(statuses(transport.sent), [180, 180]);
});

Deno.test("INVITE server transaction sends 100 Trying after 200 ms when the TU is silent", () => {
  const { clock, transport, seen, layer } = setup();
  layer.receive(request("INVITE"), UDP_PEER);
  assertEquals(seen[0]!.tx!.state, "proceeding");
  clock.advance(199);
  assertEquals(transport.sent.length, 0);
  clock.advance(1);
  assertEquals(statuses(transport.sent), [100]);
  assertEquals(header(transport.sent[0]!.msg, "To"), "<sip:bob@example.com>");
  // A retransmitted INVITE gets the 100 again.
  layer.receive(request("INVITE"), UDP_PEER);
  assertEquals(statuses(transport.sent), [100, 100]);
});

Deno.test("INVITE server transaction sends no 100 Trying when the TU answered within 200 ms", () => {
  const { clock, transport, seen, layer } = setup();
  layer.receive(request("INVITE"), UDP_PEER);
  const tx = seen[0]!.tx!;
  clock.advance(50);
  tx.respond(response(tx.request, 180));
  clock.advance(1000);
  assertEquals(statuses(transport.sent), [180]);
});

Deno.test("INVITE non-2xx: Timer G doubles up to T2, the ACK is absorbed and Timer I terminates", () => {
  const { clock, transport, seen, layer } = setup();
  layer.receive(request("INVITE"), UDP_PEER);
  const tx = seen[0]!.tx!;
  tx.respond(response(tx.request, 486));
  assertEquals(tx.state, "completed");
  clock.advance(16_000);
  // Sent at 0, then G at 500, 1500, 3500, 7500, 11500, 15500 (interval capped at T2 = 4 s).
  assertEquals(transport.sent.map((s) => s.at), [0, 500, 1500, 3500, 7500, 11500, 15500]);
  layer.receive(request("ACK"), UDP_PEER);
  assertEquals(seen.length, 1, "ACK for a non-2xx must not reach the TU");
  assertEquals(tx.state, "confirmed");
  layer.receive(request("ACK"), UDP_PEER);
  assertEquals(seen.length, 1);
  clock.advance(5000);
  assertEquals(tx.state, "terminated");
  assertEquals(clock.pending, 0);
});

Deno.test("INVITE non-2xx without an ACK: Timer H terminates and reports a timeout", () => {
  const { clock, seen, layer } = setup();
  layer.receive(request("INVITE"), UDP_PEER);
  const tx = seen[0]!.tx!;
  const reasons: string[] = [];
  tx.onTransportError = (r) => reasons.push(r);
  tx.respond(response(tx.request, 603));
  clock.advance(64 * 500);
  assertEquals(reasons, ["timeout"]);
  assertEquals(tx.state, "terminated");
});

Deno.test("INVITE non-2xx over TCP: no Timer G, ACK terminates at once", () => {
  const { clock, transport, seen, layer } = setup();
  layer.receive(request("INVITE", { transport: "TCP" }), TCP_PEER);
  const tx = seen[0]!.tx!;
  tx.respond(response(tx.request, 486));
  clock.advance(10_000);
  assertEquals(transport.sent.length, 1);
  layer.receive(request("ACK", { transport: "TCP" }), TCP_PEER);
  assertEquals(tx.state, "terminated");
  assertEquals(clock.pending, 0);
});

Deno.test("ACK for a 2xx reaches the TU without a transaction; INVITE retransmits after 2xx are absorbed", () => {
  const { clock, transport, seen, layer } = setup();
  layer.receive(request("INVITE"), UDP_PEER);
  const tx = seen[0]!.tx!;
  tx.respond(response(tx.request, 200));
  assertEquals(tx.state, "accepted");
  layer.receive(request("INVITE"), UDP_PEER);
  assertEquals(seen.length, 1);
  assertEquals(transport.sent.length, 1, "the TU retransmits 2xx, not the transaction");
  // The TU's own 2xx retransmission passes through.
  tx.respond(response(tx.request, 200));
  assertEquals(transport.sent.length, 2);
  // ACK of a 2xx has its own branch (section 13.2.2.4).
  layer.receive(request("ACK", { branch: "z9hG4bKack1", toTag: "totag" }), UDP_PEER);
  assertEquals(seen.length, 2);
  assertEquals(seen[1]!.req.method, "ACK");
  assertStrictEquals(seen[1]!.tx, undefined);
  // An ACK that reuses the INVITE branch also reaches the TU while the tx is accepted.
  layer.receive(request("ACK", { toTag: "totag" }), UDP_PEER);
  assertEquals(seen.length, 3);
  clock.advance(64 * 500);
  assertEquals(tx.state, "terminated");
});

Deno.test("CANCEL is its own server transaction and finds the INVITE it cancels", () => {
  const { seen, layer } = setup();
  layer.receive(request("INVITE"), UDP_PEER);
  layer.receive(request("CANCEL", { cseq: 1 }), UDP_PEER);
  assertEquals(seen.length, 2);
  const invite = seen[0]!.tx!;
  const cancel = seen[1]!.tx!;
  assert(cancel !== invite);
  assertEquals(cancel.request.method, "CANCEL");
  assertStrictEquals(layer.findInviteForCancel(cancel.request), invite);
  assertStrictEquals(layer.findInviteForCancel(request("CANCEL", { branch: "z9hG4bKother" })), undefined);
});

Deno.test("requests from different sent-by or method do not match the same transaction", () => {
  const { seen, layer } = setup();
  layer.receive(request("OPTIONS"), UDP_PEER);
  const other = request("OPTIONS");
  other.headers[0]!.value = "SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKabc";
  layer.receive(other, UDP_PEER);
  layer.receive(request("INFO"), UDP_PEER);
  assertEquals(seen.length, 3);
});

Deno.test("RFC 2543 requests without the magic cookie still get retransmissions absorbed", () => {
  const { seen, layer } = setup();
  layer.receive(request("OPTIONS", { branch: "old1" }), UDP_PEER);
  layer.receive(request("OPTIONS", { branch: "old1" }), UDP_PEER);
  assertEquals(seen.length, 1);
});

Deno.test("a failing transport terminates the server transaction and reports it", () => {
  const { seen, layer } = setup({ fail: true });
  layer.receive(request("OPTIONS"), UDP_PEER);
  const tx = seen[0]!.tx!;
  const reasons: string[] = [];
  tx.onTransportError = (r) => reasons.push(r);
  tx.respond(response(tx.request, 200));
  assertEquals(reasons, ["transport"]);
  assertEquals(tx.state, "terminated");
  assertEquals(layer.serverCount, 0);
});

Deno.test("a request without a Via is dropped without a transaction", () => {
  const { seen, layer } = setup();
  const req = request("OPTIONS");
  req.headers = req.headers.filter((h) => h.name !== "Via");
  layer.receive(req, UDP_PEER);
  assertEquals(seen.length, 0);
});

Deno.test("an INVITE server transaction keeps no response once a 2xx accepted it, and still passes 2xx retransmits", () => {
  const { clock, transport, seen, layer } = setup();
  layer.receive(request("INVITE"), UDP_PEER);
  const tx = seen[0]!.tx!;
  tx.respond(response(tx.request, 180));
  assertEquals(tx.lastResponse?.status, 180);
  tx.respond(response(tx.request, 200));
  assertEquals(tx.state, "accepted");
  assertStrictEquals(tx.lastResponse, undefined);
  layer.receive(request("INVITE"), UDP_PEER);
  tx.respond(response(tx.request, 200));
  assertEquals(statuses(transport.sent), [180, 200, 200]);
  assertStrictEquals(tx.lastResponse, undefined);
  clock.advance(64 * 500);
  assertEquals(tx.state, "terminated");
});

Deno.test("a terminated non-INVITE server transaction lets go of its final response", () => {
  const { clock, seen, layer } = setup();
  layer.receive(request("OPTIONS"), UDP_PEER);
  const tx = seen[0]!.tx!;
  tx.respond(response(tx.request, 200));
  assertEquals(tx.lastResponse?.status, 200);
  clock.advance(64 * 500);
  assertEquals(tx.state, "terminated");
  assertStrictEquals(tx.lastResponse, undefined);
});
