// The transaction layer over a real UDP/TCP transport on 127.0.0.1, with the real clock.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { realClock } from "../../clock/mod.ts";
import { createResponse, parseMessage } from "../message/mod.ts";
import type { Peer, SipMessage, SipRequest } from "../message/types.ts";
import { startTransports } from "../transport/mod.ts";
import { newBranch } from "./ids.ts";
import { TransactionLayer } from "./layer.ts";
import type { ServerTransaction } from "./server.ts";

const enc = new TextEncoder();

async function eventually(fn: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!fn()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function invite(port: number, transport: "UDP" | "TCP", method = "INVITE", branch = newBranch()): SipRequest {
  const text = `${method} sip:bob@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/${transport} 127.0.0.1:${port};branch=${branch};rport\r\n` +
    "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n" +
    `Call-ID: stack-1\r\nCSeq: 1 ${method}\r\nContact: <sip:alice@127.0.0.1:${port}>\r\nContent-Length: 0\r\n\r\n`;
  return parseMessage(enc.encode(text)) as SipRequest;
}

for (const transport of ["udp", "tcp"] as const) {
  Deno.test(`${transport}: INVITE between two stacks gets 100 Trying, 180, 200 and the ACK reaches the callee`, async () => {
    const calleeSeen: { req: SipRequest; tx: ServerTransaction | undefined }[] = [];
    const calleeTransport = await startTransports({
      bind: "127.0.0.1",
      port: 0,
      onMessage: (m: SipMessage, s: Peer) => callee.receive(m, s),
    });
    const callerTransport = await startTransports({
      bind: "127.0.0.1",
      port: 0,
      onMessage: (m: SipMessage, s: Peer) => caller.receive(m, s),
    });
    const callee = new TransactionLayer({
      transport: calleeTransport,
      clock: realClock,
      onRequest: (req, tx) => calleeSeen.push({ req, tx }),
    });
    const caller = new TransactionLayer({
      transport: callerTransport,
      clock: realClock,
      onRequest: () => {},
    });
    try {
      const target: Peer = { transport, address: "127.0.0.1", port: calleeTransport.port };
      const statuses: number[] = [];
      const req = invite(callerTransport.port, transport === "udp" ? "UDP" : "TCP");
      caller.sendRequest(req, target, { onResponse: (r) => statuses.push(r.status) });
      await eventually(() => calleeSeen.length === 1, "the INVITE at the callee");
      // The callee stays silent: its transaction sends 100 Trying after 200 ms.
      await eventually(() => statuses.length === 1, "100 Trying");
      const tx = calleeSeen[0]!.tx!;
      tx.respond(createResponse(tx.request, 180, { toTag: "b" }));
      tx.respond(createResponse(tx.request, 200, { toTag: "b" }));
      await eventually(() => statuses.length === 3, "180 and 200");
      assertEquals(statuses, [100, 180, 200]);
      const ack = invite(callerTransport.port, transport === "udp" ? "UDP" : "TCP", "ACK");
      await caller.sendAck(ack, target);
      await eventually(() => calleeSeen.length === 2, "the ACK at the callee");
      assert(calleeSeen[1]!.req.method === "ACK" && calleeSeen[1]!.tx === undefined);
    } finally {
      caller.close();
      callee.close();
      await callerTransport.close();
      await calleeTransport.close();
    }
  });
}
