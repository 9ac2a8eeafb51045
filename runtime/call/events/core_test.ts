import assert, { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { nullLogger } from "../../log/mod.ts";
import { createResponse, getHeader } from "../../sip/message/mod.ts";
import type { Peer, SipRequest, SipResponse } from "../../sip/message/types.ts";
import type { ClientTransactionHandlers } from "../../sip/transaction/mod.ts";
import type { Authorizer } from "../../registrar/mod.ts";
import { tempStorage } from "../../storage/_testing.ts";
import {
  createMemorySubscriptionStore,
  createSqliteSubscriptionStore,
  dialogElement,
  dialogPackage,
  EventCore,
  ExtensionStateHub,
  messageSummaryPackage,
  MessageSummaryState,
  presencePackage,
  startReferSubscription,
  type SubscriptionStore,
} from "./mod.ts";
import { attachExtensionState, attachMessageSummary } from "./mod.ts";
import { CallRegistry } from "../registry.ts";

const PEER: Peer = { transport: "udp", address: "127.0.0.1", port: 5070 };
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Authorizer stand-in: a request with `Authorization: user` is that user; none gets a 401. */
const authorizer: Authorizer = {
  authorize(req) {
    const user = getHeader(req, "Authorization");
    if (user) return { ok: true, username: user };
    return { ok: false, response: createResponse(req, 401), delayMs: 0 };
  },
};

function setup(
  options: { store?: SubscriptionStore; clock?: VirtualClock; perSource?: number; registry?: CallRegistry } =
    {},
) {
  const clock = options.clock ?? new VirtualClock();
  const sent: { req: SipRequest; handlers: ClientTransactionHandlers }[] = [];
  const core = new EventCore({
    transactions: { sendRequest: (req, _t, handlers) => sent.push({ req, handlers }) },
    authorizer,
    clock,
    log: nullLogger,
    publicAddress: "127.0.0.1",
    sipPort: 5060,
    ...(options.store ? { store: options.store } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    limits: {
      minExpires: 60,
      maxExpires: 600,
      ...(options.perSource ? { perSource: options.perSource } : {}),
    },
  });
  const hub = new ExtensionStateHub({ domain: "box" });
  const mwi = new MessageSummaryState();
  const exists = (n: string) => ["201", "202"].includes(n);
  core.register(dialogPackage({ source: hub, domain: "box", exists }));
  core.register(presencePackage({ source: hub, domain: "box", exists }));
  core.register(messageSummaryPackage({ state: mwi, domain: "box", exists }));
  attachExtensionState(core, hub);
  attachMessageSummary(core, mwi);
  /** Answer the oldest unanswered NOTIFY. */
  const answer = (status = 200) => {
    const n = sent.shift();
    if (!n) throw new Error("no NOTIFY was sent");
    n.handlers.onResponse(createResponse(n.req, status));
    return n.req;
  };
  return { core, hub, mwi, clock, sent, answer };
}

let seq = 0;
function subscribe(
  event: string,
  options: {
    user?: string | null;
    target?: string;
    expires?: number;
    callId?: string;
    toTag?: string;
    cseq?: number;
  } = {},
): SipRequest {
  const headers = [
    { name: "Via", value: `SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${++seq}` },
    { name: "From", value: "<sip:202@box>;tag=sub-tag" },
    {
      name: "To",
      value: `<sip:${options.target ?? "201"}@box>${options.toTag ? `;tag=${options.toTag}` : ""}`,
    },
    { name: "Call-ID", value: options.callId ?? `call-${seq}` },
    { name: "CSeq", value: `${options.cseq ?? 1} SUBSCRIBE` },
    { name: "Contact", value: "<sip:202@127.0.0.1:5070>" },
    { name: "Event", value: event },
  ];
  if (options.expires !== undefined) headers.push({ name: "Expires", value: String(options.expires) });
  if (options.user !== null) headers.push({ name: "Authorization", value: options.user ?? "202" });
  return {
    type: "request",
    method: "SUBSCRIBE",
    uri: `sip:${options.target ?? "201"}@box`,
    headers,
    body: new Uint8Array(),
  };
}

function send(core: EventCore, req: SipRequest): SipResponse {
  let res: SipResponse | undefined;
  assert(core.handleRequest(req, { respond: (r) => void (res = r) }, PEER));
  if (!res) throw new Error("no response");
  return res;
}

Deno.test("unknown event gets 489 with Allow-Events; unauthenticated SUBSCRIBE gets 401 first", () => {
  const { core } = setup();
  assertEquals(send(core, subscribe("foo", { user: null })).status, 401);
  const res = send(core, subscribe("foo"));
  assertEquals(res.status, 489);
  assertEquals(getHeader(res, "Allow-Events"), "dialog, presence, message-summary");
  assertEquals(send(core, subscribe("dialog", { user: null })).status, 401);
});

Deno.test("too short Expires gets 423 with Min-Expires; a long one is cut to the maximum", () => {
  const { core, sent } = setup();
  const res = send(core, subscribe("dialog", { expires: 10 }));
  assertEquals(res.status, 423);
  assertEquals(getHeader(res, "Min-Expires"), "60");
  assertEquals(sent.length, 0);
  const ok = send(core, subscribe("dialog", { expires: 99999 }));
  assertEquals(ok.status, 200);
  assertEquals(getHeader(ok, "Expires"), "600");
  assertEquals(send(core, subscribe("dialog", { expires: "x" as unknown as number })).status, 400);
  assertEquals(send(core, subscribe("dialog", { target: "999" })).status, 404);
});

Deno.test("dialog: initial full NOTIFY, partial early/confirmed/terminated changes with rising version", () => {
  const { core, hub, sent, answer } = setup();
  const res = send(core, subscribe("dialog", { expires: 300 }));
  assertEquals(res.status, 200);
  const toTag = /tag=([^;]+)$/.exec(getHeader(res, "To")!)![1];
  assertEquals(sent.length, 1);
  const first = answer();
  assertEquals(getHeader(first, "Subscription-State"), "active;expires=300");
  assertEquals(getHeader(first, "Event"), "dialog");
  assertEquals(getHeader(first, "From"), `<sip:201@box>;tag=${toTag}`);
  assertEquals(first.uri, "sip:202@127.0.0.1:5070");
  assertMatch(text(first.body), /version="0" state="full" entity="sip:201@box"/);

  hub.fromLiveCall({ id: "c1", caller: "203", callee: "201", state: "ringing", startedAt: 0 }, false);
  const ring = answer();
  assertMatch(text(ring.body), /version="1" state="partial"/);
  assertMatch(text(ring.body), /direction="recipient"><state>early<\/state>/);
  assertMatch(text(ring.body), /<remote><identity>sip:203@box<\/identity>/);
  hub.fromLiveCall({ id: "c1", caller: "203", callee: "201", state: "answered", startedAt: 0 }, false);
  assertMatch(text(answer().body), /version="2".*<state>confirmed<\/state>/s);
  hub.fromLiveCall({ id: "c1", caller: "203", callee: "201", state: "answered", startedAt: 0 }, true);
  assertMatch(text(answer().body), /version="3".*<state>terminated<\/state>/s);
  const cseqs = [first].map((r) => getHeader(r, "CSeq"));
  assertMatch(cseqs[0]!, /^\d+ NOTIFY$/);
});

Deno.test("BLF pickup data: each side's dialog has its own call-id, local-tag (the phone's) and remote-tag (the box's)", () => {
  const { core, hub, answer } = setup();
  send(core, subscribe("dialog"));
  answer();
  const call = {
    id: "c1",
    caller: "203",
    callee: "201",
    startedAt: 0,
    callerDialog: { callId: "a-call", boxTag: "box-a", phoneTag: "tag-203" },
    calleeDialog: { callId: "b-call", boxTag: "box-b" },
  };
  // Rung, no provisional response yet: no dialog at 201 (RFC 4235 early needs the phone's tag).
  hub.fromLiveCall({ ...call, state: "dialing" }, false);
  assertEquals(hub.dialogs("201"), []);
  hub.fromLiveCall(
    { ...call, state: "ringing", calleeDialog: { ...call.calleeDialog, phoneTag: "tag-201" } },
    false,
  );
  assertMatch(
    text(answer().body),
    /<dialog id="c1" call-id="b-call" local-tag="tag-201" remote-tag="box-b" direction="recipient"><state>early<\/state>/,
  );
  assertMatch(
    dialogElement(hub.dialogs("203")[0]!),
    /call-id="a-call" local-tag="tag-203" remote-tag="box-a" direction="initiator"/,
  );
  // Picked up by 204 (INVITE with Replaces): 201's early dialog ends, 204 has the call.
  hub.fromLiveCall({ ...call, callee: "204", state: "answered" }, false);
  assertMatch(text(answer().body), /<state>terminated<\/state>/);
  assertEquals(hub.dialogs("201"), []);
  assertEquals(hub.dialogs("204").map((d) => d.state), ["confirmed"]);
});

Deno.test("changes while a NOTIFY is unanswered are coalesced into one full-state NOTIFY", () => {
  const { core, hub, sent, answer } = setup();
  send(core, subscribe("dialog"));
  hub.fromLiveCall({ id: "c1", caller: "203", callee: "201", state: "ringing", startedAt: 0 }, false);
  hub.fromLiveCall({ id: "c1", caller: "203", callee: "201", state: "answered", startedAt: 0 }, false);
  assertEquals(sent.length, 1);
  answer();
  const next = answer();
  assertMatch(text(next.body), /version="1" state="full".*confirmed/s);
});

Deno.test("refresh, unsubscribe, expiry with terminated;reason=timeout (virtual time)", () => {
  const { core, clock, sent, answer } = setup();
  const res = send(core, subscribe("presence", { expires: 120, callId: "r1" }));
  const toTag = /tag=([^;]+)$/.exec(getHeader(res, "To")!)![1]!;
  assertMatch(text(answer().body), /<basic>closed<\/basic>/);
  clock.advance(100_000);
  const refresh = send(core, subscribe("presence", { expires: 120, callId: "r1", toTag, cseq: 2 }));
  assertEquals(refresh.status, 200);
  assertEquals(getHeader(answer(), "Subscription-State"), "active;expires=120");
  assertEquals(send(core, subscribe("presence", { expires: 30, callId: "r1", toTag, cseq: 3 })).status, 423);
  assertEquals(send(core, subscribe("presence", { callId: "nope", toTag: "x", cseq: 4 })).status, 481);
  clock.advance(119_000);
  assertEquals(sent.length, 0);
  clock.advance(2_000);
  assertEquals(getHeader(answer(), "Subscription-State"), "terminated;reason=timeout");
  assertEquals(core.subscriptions().length, 0);
  // unsubscribe
  const r2 = send(core, subscribe("presence", { callId: "r2" }));
  const tag2 = /tag=([^;]+)$/.exec(getHeader(r2, "To")!)![1]!;
  answer();
  assertEquals(
    send(core, subscribe("presence", { expires: 0, callId: "r2", toTag: tag2, cseq: 2 })).status,
    200,
  );
  assertEquals(getHeader(answer(), "Subscription-State"), "terminated;reason=timeout");
  assertEquals(core.subscriptions().length, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("a 481 (or no answer) to a NOTIFY removes the subscription", () => {
  const { core, sent, clock } = setup();
  send(core, subscribe("dialog"));
  send(core, subscribe("dialog"));
  assertEquals(core.subscriptions().length, 2);
  const a = sent.shift()!;
  a.handlers.onResponse(createResponse(a.req, 481));
  const b = sent.shift()!;
  b.handlers.onTimeout?.();
  assertEquals(core.subscriptions().length, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("subscriptions per source address are capped with 503 and Retry-After", () => {
  const { core } = setup({ perSource: 2 });
  assertEquals(send(core, subscribe("dialog")).status, 200);
  assertEquals(send(core, subscribe("dialog")).status, 200);
  const res = send(core, subscribe("dialog"));
  assertEquals(res.status, 503);
  assertEquals(getHeader(res, "Retry-After"), "60");
});

Deno.test("message-summary: own mailbox only, counts from the setter", () => {
  const { core, mwi, answer } = setup();
  assertEquals(send(core, subscribe("message-summary", { target: "201" })).status, 403);
  assertEquals(send(core, subscribe("message-summary", { target: "202" })).status, 200);
  assertMatch(text(answer().body), /Messages-Waiting: no\r\n.*Voice-Message: 0\/0/s);
  mwi.set("202", { newMessages: 2, oldMessages: 5 });
  assertMatch(
    text(answer().body),
    /Messages-Waiting: yes\r\nMessage-Account: sip:202@box\r\nVoice-Message: 2\/5/,
  );
});

Deno.test("presence: on the phone, DND and away", () => {
  const { core, hub, answer } = setup();
  send(core, subscribe("presence"));
  answer();
  hub.setPresence("201", { registered: true });
  assertMatch(text(answer().body), /<basic>open<\/basic><\/status><note>Available/);
  hub.fromLiveCall({ id: "c1", caller: "201", callee: "203", state: "answered", startedAt: 0 }, false);
  assertMatch(text(answer().body), /rpid:on-the-phone.*On the phone/s);
  hub.fromLiveCall({ id: "c1", caller: "201", callee: "203", state: "answered", startedAt: 0 }, true);
  answer();
  hub.setPresence("201", { dnd: true });
  assertMatch(text(answer().body), /rpid:busy.*DND/s);
  hub.setPresence("201", { dnd: false, away: true });
  assertMatch(text(answer().body), /rpid:away.*Away/s);
});

Deno.test("after a restart stored subscriptions continue in their dialog with a higher CSeq", () => {
  const store = createMemorySubscriptionStore();
  const clock = new VirtualClock();
  const one = setup({ store, clock });
  send(one.core, subscribe("dialog", { callId: "keep" }));
  const before = one.answer();
  one.core.close();
  assertEquals(store.size(), 1);
  clock.advance(10_000);
  const two = setup({ store, clock });
  assertEquals(two.core.restore(), 1);
  const after = two.answer();
  assertEquals(getHeader(after, "Call-ID"), "keep");
  assertEquals(getHeader(after, "From"), getHeader(before, "From"));
  assertEquals(getHeader(after, "To"), getHeader(before, "To"));
  assert(parseInt(getHeader(after, "CSeq")!) > parseInt(getHeader(before, "CSeq")!));
  assertMatch(text(after.body), /version="1001" state="full"/);
  assertEquals(getHeader(after, "Subscription-State"), "active;expires=3590".replace("3590", "590"));
});

Deno.test("SQLite store keeps subscriptions across reopen", () => {
  const st = tempStorage();
  try {
    const store = createSqliteSubscriptionStore(st.db);
    const { core, answer } = setup({ store });
    send(core, subscribe("presence", { callId: "sq" }));
    answer();
    const rows = createSqliteSubscriptionStore(st.db).list();
    assertEquals(rows.length, 1);
    assertEquals(rows[0]!.dialog.callId, "sq");
    assertEquals(rows[0]!.peer, PEER);
    core.terminate("presence");
    assertEquals(createSqliteSubscriptionStore(st.db).list().length, 0);
  } finally {
    st.dispose();
  }
});

Deno.test("refer: sipfrag progress NOTIFYs, a final status ends the implicit subscription", async () => {
  const sent: { req: SipRequest; handlers: ClientTransactionHandlers }[] = [];
  let cseq = 10;
  const refer = startReferSubscription({
    transactions: { sendRequest: (req, _t, handlers) => sent.push({ req, handlers }) },
    dialog: {
      createRequest: (method, o) => ({
        type: "request",
        method,
        uri: "sip:a@x",
        headers: [{ name: "CSeq", value: `${++cseq} ${method}` }, ...(o.headers ?? [])],
        body: new TextEncoder().encode(String(o.body)),
      }),
    },
    peer: PEER,
    via: { transport: "udp", host: "127.0.0.1", port: 5060 },
    referCSeq: 7,
  });
  const p1 = refer.notifyReferProgress("SIP/2.0 100 Trying");
  sent[0]!.handlers.onResponse(createResponse(sent[0]!.req, 200));
  assertEquals(await p1, 200);
  assertEquals(getHeader(sent[0]!.req, "Event"), "refer;id=7");
  assertEquals(getHeader(sent[0]!.req, "Subscription-State"), "active;expires=60");
  const p2 = refer.notifyReferProgress("SIP/2.0 200 OK");
  sent[1]!.handlers.onResponse(createResponse(sent[1]!.req, 200));
  await p2;
  assertEquals(getHeader(sent[1]!.req, "Subscription-State"), "terminated;reason=noresource");
  assertEquals(text(sent[1]!.req.body), "SIP/2.0 200 OK\r\n");
  assert(refer.terminated);
  assertEquals(await refer.notifyReferProgress("SIP/2.0 180 Ringing"), 0);
  let threw = false;
  try {
    startReferSubscription({
      ...{ transactions: { sendRequest: () => {} } },
      dialog: { createRequest: () => ({} as SipRequest) },
      peer: PEER,
      via: { transport: "udp", host: "h", port: 1 },
    })
      .notifyReferProgress("garbage");
  } catch (e) {
    threw = e instanceof SyntaxError;
  }
  assert(threw);
});

Deno.test("bad SUBSCRIBEs get clear 4xx: no Event 400, no Contact 400, wrong Accept 406, someone else's refresh 403", () => {
  const { core } = setup();
  const noEvent = subscribe("dialog");
  noEvent.headers = noEvent.headers.filter((h) => h.name !== "Event");
  assertEquals(send(core, noEvent).status, 400);
  const noContact = subscribe("dialog");
  noContact.headers = noContact.headers.filter((h) => h.name !== "Contact");
  const r = send(core, noContact);
  assertEquals(r.status, 400);
  assertMatch(r.reason, /Contact/);
  const wrongAccept = subscribe("dialog");
  wrongAccept.headers.push({ name: "Accept", value: "text/plain" });
  assertEquals(send(core, wrongAccept).status, 406);
  const ok = send(core, subscribe("dialog", { callId: "mine" }));
  const toTag = /tag=([^;]+)$/.exec(getHeader(ok, "To")!)![1]!;
  assertEquals(send(core, subscribe("dialog", { callId: "mine", toTag, cseq: 2, user: "203" })).status, 403);
  assertEquals(send(core, subscribe("presence", { callId: "mine", toTag, cseq: 3 })).status, 489);
});

Deno.test("subscriptions are dialog usages in the call registry: refresh routes through it, and none is left after they end", () => {
  const clock = new VirtualClock();
  const registry = new CallRegistry({ clock });
  const { core, answer } = setup({ clock, registry });
  const viaRegistry = (req: SipRequest): SipResponse => {
    let res: SipResponse | undefined;
    assert.equal(
      core.handleRequest(req, { respond: () => {} }, PEER),
      false,
      "in-dialog: the registry's turn",
    );
    assert(
      registry.route(req, { respond: (r: SipResponse) => void (res = r) } as never, PEER),
      "the registry knows the dialog",
    );
    if (!res) throw new Error("no response");
    return res;
  };
  for (let i = 0; i < 50; i++) {
    const ok = send(core, subscribe("presence", { callId: `reg-${i}`, expires: 120 }));
    assertEquals(ok.status, 200);
    answer();
    const toTag = /tag=([^;]+)/.exec(getHeader(ok, "To")!)![1]!;
    if (i % 2 === 0) {
      // Refresh, then unsubscribe, in the dialog.
      assertEquals(
        viaRegistry(subscribe("presence", { callId: `reg-${i}`, toTag, cseq: 2, expires: 120 })).status,
        200,
      );
      answer();
      assertEquals(
        viaRegistry(subscribe("presence", { callId: `reg-${i}`, toTag, cseq: 3, expires: 0 })).status,
        200,
      );
      answer();
    }
    if (i === 1) {
      // Another method in a subscription's dialog is not allowed there.
      const notify = { ...subscribe("presence", { callId: "reg-1", toTag, cseq: 9 }), method: "NOTIFY" };
      let res: SipResponse | undefined;
      registry.route(notify, { respond: (r: SipResponse) => void (res = r) } as never, PEER);
      assertEquals(res?.status, 405);
    }
  }
  assertEquals(core.subscriptions().length, 25);
  assertEquals(registry.active, 25);
  clock.advance(121_000); // the other half expire: final NOTIFYs
  while (true) {
    try {
      answer();
    } catch {
      break;
    }
  }
  assertEquals(core.subscriptions().length, 0);
  assertEquals(registry.active, 0);
  clock.advance(40_000); // the linger (Timer J) passes
  assertEquals(registry.size, 0, "no dialog left behind");
});
