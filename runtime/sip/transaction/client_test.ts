import {
  deepStrictEqual as assertEquals,
  ok as assert,
  strictEqual as assertStrictEquals,
} from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import type { SipResponse } from "../message/types.ts";
import {
  header,
  recordingTransport,
  request,
  response,
  type Sent,
  TCP_PEER,
  UDP_PEER,
} from "./_test_helpers.ts";
import type { ClientTransactionHandlers } from "./client.ts";
import { TransactionLayer } from "./layer.ts";

function setup(options: { fail?: boolean } = {}) {
  const clock = new VirtualClock();
  const transport = recordingTransport(clock, options);
  const stray: SipResponse[] = [];
  const layer = new TransactionLayer({
    transport,
    clock,
    onRequest: () => {},
    onStrayResponse: (res) => stray.push(res),
  });
  const got: SipResponse[] = [];
  const events: string[] = [];
  const handlers: ClientTransactionHandlers = { onResponse: (r) => got.push(r) };
  const withTimeout: ClientTransactionHandlers = {
    onResponse: (r) => got.push(r),
    onTimeout: () => events.push("timeout"),
    onTransportError: () => events.push("transport"),
  };
  return { clock, transport, stray, layer, got, events, handlers, withTimeout };
}

const times = (sent: Sent[]) => sent.map((s) => s.at);
const methods = (sent: Sent[]) =>
  sent.map((s) => (s.msg.type === "request" ? s.msg.method : String(s.msg.status)));

Deno.test("non-INVITE client: Timer E doubles up to T2 and Timer F times out", () => {
  const { clock, transport, layer, events, withTimeout } = setup();
  const tx = layer.sendRequest(request("OPTIONS"), UDP_PEER, withTimeout);
  assertEquals(tx.state, "trying");
  clock.advance(64 * 500);
  // 0, then +500, +1000, +2000, +4000 and every 4000 (T2) after that, until F at 32000.
  assertEquals(times(transport.sent), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  assertEquals(events, ["timeout"]);
  assertEquals(tx.state, "terminated");
  assertEquals(layer.clientCount, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("non-INVITE client in Proceeding retransmits every T2", () => {
  const { clock, transport, layer, got, handlers } = setup();
  const tx = layer.sendRequest(request("REGISTER"), UDP_PEER, handlers);
  layer.receive(response(tx.request, 100), UDP_PEER);
  assertEquals(tx.state, "proceeding");
  clock.advance(12_000);
  assertEquals(times(transport.sent), [0, 500, 4500, 8500]);
  layer.receive(response(tx.request, 200), UDP_PEER);
  layer.receive(response(tx.request, 200), UDP_PEER); // retransmission absorbed in Completed
  assertEquals(got.map((r) => r.status), [100, 200]);
  clock.advance(5000);
  assertEquals(tx.state, "terminated");
});

Deno.test("non-INVITE client without onTimeout gets a local 408", () => {
  const { clock, layer, got, handlers } = setup();
  layer.sendRequest(request("OPTIONS"), UDP_PEER, handlers);
  clock.advance(64 * 500);
  assertEquals(got.map((r) => r.status), [408]);
});

Deno.test("INVITE client: Timer A doubles without a cap and Timer B gives the TU a 408", () => {
  const { clock, transport, layer, got, handlers } = setup();
  const tx = layer.sendRequest(request("INVITE"), UDP_PEER, handlers);
  assertEquals(tx.state, "calling");
  clock.advance(64 * 500);
  assertEquals(times(transport.sent), [0, 500, 1500, 3500, 7500, 15500, 31500]);
  assertEquals(got.map((r) => r.status), [408]);
  assertEquals(tx.state, "terminated");
  assertEquals(clock.pending, 0);
});

Deno.test("over TCP there are no retransmissions (no Timer A or E), only Timers B and F", () => {
  const { clock, transport, layer, events, withTimeout } = setup();
  layer.sendRequest(request("INVITE", { transport: "TCP" }), TCP_PEER, withTimeout);
  layer.sendRequest(request("OPTIONS", { transport: "TCP", branch: "z9hG4bKopt" }), TCP_PEER, withTimeout);
  clock.advance(64 * 500);
  assertEquals(times(transport.sent), [0, 0]);
  assertEquals(events, ["timeout", "timeout"]);
});

Deno.test("INVITE client ACKs a non-2xx final response itself and absorbs its retransmissions", () => {
  const { clock, transport, layer, got, handlers } = setup();
  const tx = layer.sendRequest(request("INVITE"), UDP_PEER, handlers);
  layer.receive(response(tx.request, 180), UDP_PEER);
  assertEquals(tx.state, "proceeding");
  clock.advance(10_000);
  assertEquals(transport.sent.length, 1, "no retransmission in Proceeding");
  const busy = response(tx.request, 486, "busytag");
  layer.receive(busy, UDP_PEER);
  assertEquals(tx.state, "completed");
  layer.receive(busy, UDP_PEER);
  assertEquals(got.map((r) => r.status), [180, 486]);
  assertEquals(methods(transport.sent), ["INVITE", "ACK", "ACK"]);
  const ack = transport.sent[1]!.msg;
  assert(ack.type === "request");
  assertEquals(ack.uri, tx.request.uri);
  assertEquals(header(ack, "To"), "<sip:bob@example.com>;tag=busytag");
  assertEquals(header(ack, "CSeq"), "1 ACK");
  assertEquals(header(ack, "Via"), header(tx.request, "Via"));
  assertEquals(header(ack, "Route"), "<sip:proxy.example.com;lr>");
  clock.advance(32_000);
  assertEquals(tx.state, "terminated");
  assertEquals(clock.pending, 0);
});

Deno.test("INVITE client: 2xx retransmits reach the TU while Accepted, then go to onStrayResponse", () => {
  const { clock, transport, layer, got, stray, handlers } = setup();
  const tx = layer.sendRequest(request("INVITE"), UDP_PEER, handlers);
  const ok = response(tx.request, 200);
  layer.receive(ok, UDP_PEER);
  assertEquals(tx.state, "accepted");
  layer.receive(ok, UDP_PEER);
  assertEquals(got.map((r) => r.status), [200, 200]);
  assertEquals(methods(transport.sent), ["INVITE"], "the transaction never ACKs a 2xx");
  clock.advance(64 * 500);
  assertEquals(tx.state, "terminated");
  layer.receive(ok, UDP_PEER);
  assertEquals(got.length, 2);
  assertEquals(stray.map((r) => r.status), [200]);
});

Deno.test("cancel() before any provisional waits, then sends CANCEL on the first 1xx", () => {
  const { transport, layer, handlers } = setup();
  const tx = layer.sendRequest(request("INVITE", { cseq: 7 }), UDP_PEER, handlers);
  tx.cancel();
  assertEquals(methods(transport.sent), ["INVITE"]);
  layer.receive(response(tx.request, 180), UDP_PEER);
  assertEquals(methods(transport.sent), ["INVITE", "CANCEL"]);
  const cancel = transport.sent[1]!.msg;
  assert(cancel.type === "request");
  assertEquals(header(cancel, "CSeq"), "7 CANCEL");
  assertEquals(header(cancel, "Via"), header(tx.request, "Via"));
  assertEquals(header(cancel, "To"), header(tx.request, "To"));
  assertEquals(cancel.uri, tx.request.uri);
  // The 200 for CANCEL matches the CANCEL transaction, the 487 the INVITE one.
  assertEquals(layer.clientCount, 2);
  layer.receive(response(cancel, 200), UDP_PEER);
  layer.receive(response(tx.request, 487), UDP_PEER);
  assertEquals(tx.state, "completed");
  assertEquals(methods(transport.sent), ["INVITE", "CANCEL", "ACK"]);
});

Deno.test("cancel() after a provisional sends CANCEL at once; after a final response it does nothing", () => {
  const { transport, layer, handlers } = setup();
  const a = layer.sendRequest(request("INVITE", { branch: "z9hG4bKa" }), UDP_PEER, handlers);
  layer.receive(response(a.request, 183), UDP_PEER);
  a.cancel();
  a.cancel();
  const b = layer.sendRequest(request("INVITE", { branch: "z9hG4bKb" }), UDP_PEER, handlers);
  b.cancel();
  layer.receive(response(b.request, 486), UDP_PEER);
  assertEquals(methods(transport.sent), ["INVITE", "CANCEL", "INVITE", "ACK"]);
});

Deno.test("a response with another CSeq method or branch does not match the client transaction", () => {
  const { layer, got, stray, handlers } = setup();
  const tx = layer.sendRequest(request("INVITE"), UDP_PEER, handlers);
  const wrongMethod = response(tx.request, 200);
  wrongMethod.headers.find((h) => h.name === "CSeq")!.value = "1 CANCEL";
  layer.receive(wrongMethod, UDP_PEER);
  layer.receive(response(request("INVITE", { branch: "z9hG4bKzzz" }), 200), UDP_PEER);
  assertEquals(got.length, 0);
  assertEquals(stray.length, 2);
});

Deno.test("a transport failure gives the TU a 503, or onTransportError when given", async () => {
  const { layer, got, events, handlers, withTimeout } = setup({ fail: true });
  const a = layer.sendRequest(request("OPTIONS", { branch: "z9hG4bK1" }), UDP_PEER, handlers);
  layer.sendRequest(request("OPTIONS", { branch: "z9hG4bK2" }), UDP_PEER, withTimeout);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(got.map((r) => r.status), [503]);
  assertEquals(events, ["transport"]);
  assertEquals(a.state, "terminated");
  assertEquals(layer.clientCount, 0);
});

Deno.test("sendRequest refuses ACK and requests without a branch", () => {
  const { layer, handlers } = setup();
  let threw = 0;
  try {
    layer.sendRequest(request("ACK"), UDP_PEER, handlers);
  } catch (e) {
    threw += e instanceof TypeError ? 1 : 0;
  }
  const noVia = request("OPTIONS");
  noVia.headers = noVia.headers.filter((h) => h.name !== "Via");
  try {
    layer.sendRequest(noVia, UDP_PEER, handlers);
  } catch (e) {
    threw += e instanceof TypeError ? 1 : 0;
  }
  assertStrictEquals(threw, 2);
});

Deno.test("non-INVITE client over TCP terminates at once on a final response (Timer K = 0)", () => {
  const { clock, layer, handlers } = setup();
  const tx = layer.sendRequest(request("BYE", { transport: "TCP" }), TCP_PEER, handlers);
  layer.receive(response(tx.request, 200), TCP_PEER);
  assertEquals(tx.state, "terminated");
  assertEquals(clock.pending, 0);
});

Deno.test("close() stops every transaction and timer", () => {
  const { clock, layer, handlers } = setup();
  layer.sendRequest(request("INVITE"), UDP_PEER, handlers);
  layer.receive(request("OPTIONS", { branch: "z9hG4bKin" }), UDP_PEER);
  layer.close();
  assertEquals(layer.clientCount + layer.serverCount, 0);
  assertEquals(clock.pending, 0);
});
