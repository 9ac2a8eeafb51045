import { deepStrictEqual as eq, throws } from "node:assert";
import { VirtualClock } from "../clock/mod.ts";
import { nullLogger } from "../log/mod.ts";
import { getHeader, parseMessage } from "../sip/message/mod.ts";
import type { SipRequest, SipResponse } from "../sip/message/types.ts";
import type { ServerTransaction } from "../sip/mod.ts";
import type { B2bua } from "./b2bua.ts";
import { createDispatcher } from "./dispatcher.ts";
import { MethodRegistry } from "./methods.ts";

function request(method: string): SipRequest {
  const text = [
    `${method} sip:pbx@127.0.0.1 SIP/2.0`,
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1",
    "From: <sip:201@pbx>;tag=a",
    "To: <sip:pbx@pbx>",
    "Call-ID: m1",
    `CSeq: 1 ${method}`,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
  return parseMessage(new TextEncoder().encode(text)) as SipRequest;
}

function rig(methods: MethodRegistry) {
  const clock = new VirtualClock();
  const sent: SipResponse[] = [];
  const dispatch = createDispatcher({
    authorizer: { authorize: () => ({ ok: true, username: "201" }) },
    registrar: { locations: {} as never, extensionExists: () => true, clock, log: nullLogger },
    b2bua: { handleInDialog: () => false, cancel: () => false } as unknown as B2bua,
    route: () => ({ kind: "none" }),
    hasBindings: () => false,
    findInviteForCancel: () => undefined,
    clock,
    log: nullLogger,
    methods,
  });
  const tx = { respond: (r: SipResponse) => sent.push(r) } as unknown as ServerTransaction;
  const send = async (method: string) => {
    dispatch(request(method), tx, { transport: "udp", address: "192.0.2.10", port: 5060 });
    await new Promise((r) => setTimeout(r, 0));
    return sent.at(-1)!;
  };
  return { send, sent };
}

Deno.test("Allow and Allow-Events are computed from what is registered", async () => {
  const methods = new MethodRegistry();
  const r = rig(methods);
  let res = await r.send("OPTIONS");
  eq(getHeader(res, "Allow"), "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER, UPDATE");
  eq(getHeader(res, "Allow-Events"), undefined);
  eq((await r.send("SUBSCRIBE")).status, 405, "nobody serves SUBSCRIBE yet");
  const seen: string[] = [];
  methods.registerMethod("subscribe", (req, tx) => {
    seen.push(req.method);
    tx.respond({ ...res, status: 202, reason: "Accepted" });
  });
  methods.registerEventPackage("dialog");
  methods.registerEventPackage("presence");
  methods.allowInDialog("REFER");
  eq((await r.send("SUBSCRIBE")).status, 202);
  eq(seen, ["SUBSCRIBE"]);
  res = await r.send("OPTIONS");
  eq(getHeader(res, "Allow"), "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER, UPDATE, SUBSCRIBE, REFER");
  eq(getHeader(res, "Allow-Events"), "dialog, presence");
  res = await r.send("PUBLISH");
  eq([res.status, getHeader(res, "Allow-Events")], [405, "dialog, presence"]);
  eq((await r.send("FROB")).status, 501);
});

Deno.test("registering a core method, a method twice or a bad package name is refused", () => {
  const methods = new MethodRegistry();
  throws(() => methods.registerMethod("INVITE", () => {}), TypeError);
  methods.registerMethod("MESSAGE", () => {});
  throws(() => methods.registerMethod("message", () => {}), /already registered/);
  throws(() => methods.registerEventPackage("a b"), TypeError);
  methods.registerEventPackage("Dialog");
  throws(() => methods.registerEventPackage("dialog"), /already registered/);
  eq(methods.hasEventPackage("DIALOG"), true);
});
