import { deepStrictEqual as eq } from "node:assert";
import { VirtualClock } from "../clock/mod.ts";
import { nullLogger } from "../log/mod.ts";
import { getHeader, parseMessage } from "../sip/message/mod.ts";
import type { SipRequest, SipResponse } from "../sip/message/types.ts";
import type { ServerTransaction } from "../sip/mod.ts";
import type { B2bua } from "./b2bua.ts";
import { createDispatcher, OVERLOAD_RETRY_AFTER } from "./dispatcher.ts";

function invite(): SipRequest {
  const text = [
    "INVITE sip:202@pbx SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1",
    "From: <sip:201@pbx>;tag=a",
    "To: <sip:202@pbx>",
    "Call-ID: c1",
    "CSeq: 1 INVITE",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
  return parseMessage(new TextEncoder().encode(text)) as SipRequest;
}

function setup(overloaded: boolean) {
  const sent: SipResponse[] = [];
  let authorized = 0;
  const clock = new VirtualClock();
  const dispatch = createDispatcher({
    authorizer: {
      authorize: () => {
        authorized++;
        return { ok: true, username: "201" };
      },
    },
    registrar: { locations: {} as never, extensionExists: () => true, clock, log: nullLogger },
    b2bua: {
      startCall: () => Promise.resolve(),
      handleInDialog: () => false,
      cancel: () => false,
    } as unknown as B2bua,
    route: (n) => ({ kind: "extension", number: n }),
    hasBindings: () => true,
    findInviteForCancel: () => undefined,
    clock,
    log: nullLogger,
    overloaded: () => overloaded,
  });
  const tx = { respond: (r: SipResponse) => sent.push(r) } as unknown as ServerTransaction;
  return { dispatch, tx, sent, authorizedCount: () => authorized };
}

Deno.test("an overloaded box answers new INVITEs 503 with Retry-After before checking credentials", async () => {
  const { dispatch, tx, sent, authorizedCount } = setup(true);
  dispatch(invite(), tx, { transport: "udp", address: "192.0.2.10", port: 5060 });
  await new Promise((r) => setTimeout(r, 0));
  eq(sent.map((r) => r.status), [503]);
  eq(getHeader(sent[0]!, "Retry-After"), String(OVERLOAD_RETRY_AFTER));
  eq(authorizedCount(), 0);
});

Deno.test("a box that is not overloaded takes the call", async () => {
  const { dispatch, tx, sent, authorizedCount } = setup(false);
  dispatch(invite(), tx, { transport: "udp", address: "192.0.2.10", port: 5060 });
  await new Promise((r) => setTimeout(r, 0));
  eq(sent.length, 0); // handed to the B2BUA, which answers
  eq(authorizedCount(), 1);
});
