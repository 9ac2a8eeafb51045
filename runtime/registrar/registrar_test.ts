import { deepStrictEqual as eq, ok } from "node:assert";
import { VirtualClock } from "../clock/mod.ts";
import { nullLogger } from "../log/mod.ts";
import { getHeader, getHeaderValues, parseMessage } from "../sip/message/mod.ts";
import type { Peer, SipRequest } from "../sip/message/types.ts";
import { type Binding, handleRegister, type LocationStore, type RegistrarOptions } from "./registrar.ts";

function memoryStore(): LocationStore & { rows: Map<string, Binding> } {
  const rows = new Map<string, Binding>();
  const key = (e: string, c: string) => `${e}|${c}`;
  return {
    rows,
    getBindings: (ext, now) => [...rows.values()].filter((b) => b.extension === ext && b.expiresAt > now),
    upsert: (b) => void rows.set(key(b.extension, b.contactUri), b),
    remove: (e, c) => void rows.delete(key(e, c)),
    removeAll: (e) => {
      for (const [k, b] of rows) if (b.extension === e) rows.delete(k);
    },
    purgeExpired: (now) => {
      let n = 0;
      for (const [k, b] of rows) if (b.expiresAt <= now) (rows.delete(k), n++);
      return n;
    },
    listAll: (now) => [...rows.values()].filter((b) => b.expiresAt > now),
  };
}

const source: Peer = { transport: "udp", address: "192.0.2.10", port: 40000 };

function register(
  opts: { user?: string; contacts?: string[]; expires?: string; cseq?: number; callId?: string } = {},
): SipRequest {
  const user = opts.user ?? "201";
  const lines = [
    `REGISTER sip:pbx SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-${crypto.randomUUID()}`,
    `From: <sip:${user}@pbx>;tag=abc`,
    `To: <sip:${user}@pbx>`,
    `Call-ID: ${opts.callId ?? "reg-1"}`,
    `CSeq: ${opts.cseq ?? 1} REGISTER`,
    ...(opts.contacts ?? [`<sip:${user}@192.0.2.10:5060>`]).map((c) => `Contact: ${c}`),
    ...(opts.expires !== undefined ? [`Expires: ${opts.expires}`] : []),
    `Content-Length: 0`,
    ``,
    ``,
  ];
  return parseMessage(new TextEncoder().encode(lines.join("\r\n"))) as SipRequest;
}

function setup() {
  const clock = new VirtualClock();
  const locations = memoryStore();
  const options: RegistrarOptions = {
    locations,
    extensionExists: (n) => n === "201" || n === "202",
    clock,
    log: nullLogger,
  };
  return { clock, locations, options };
}

Deno.test("REGISTER binds two contacts for one extension and lists both in the 200", async () => {
  const { options } = setup();
  const res = await handleRegister(
    register({ contacts: ["<sip:201@192.0.2.10:5060>", "<sip:201@192.0.2.11:5060>;expires=120"] }),
    { username: "201", source },
    options,
  );
  eq(res.status, 200);
  const contacts = getHeaderValues(res, "Contact");
  eq(contacts.length, 2);
  ok(contacts.some((c) => c.includes("192.0.2.11") && c.includes("expires=120")));
  ok(getHeader(res, "Date"));
});

Deno.test("REGISTER records the source address so calls reach a phone behind NAT", async () => {
  const { options, locations } = setup();
  await handleRegister(register(), { username: "201", source }, options);
  const [b] = [...locations.rows.values()];
  eq([b?.sourceAddress, b?.sourcePort, b?.sourceTransport], ["192.0.2.10", 40000, "udp"]);
});

Deno.test("binding expires after its lifetime and re-REGISTER refreshes it", async () => {
  const { options, clock, locations } = setup();
  await handleRegister(register({ expires: "60" }), { username: "201", source }, options);
  clock.advance(59_000);
  await handleRegister(register({ expires: "60", cseq: 2 }), { username: "201", source }, options);
  clock.advance(30_000);
  eq(locations.getBindings("201", clock.wallNow()).length, 1);
  clock.advance(31_000);
  eq(locations.getBindings("201", clock.wallNow()).length, 0);
});

Deno.test("Expires: 0 removes the contact and Contact: * removes all", async () => {
  const { options, clock, locations } = setup();
  await handleRegister(
    register({ contacts: ["<sip:201@a.example>", "<sip:201@b.example>"] }),
    { username: "201", source },
    options,
  );
  const r1 = await handleRegister(
    register({ contacts: ["<sip:201@a.example>"], expires: "0", cseq: 2 }),
    { username: "201", source },
    options,
  );
  eq(getHeaderValues(r1, "Contact").length, 1);
  const r2 = await handleRegister(register({ contacts: ["*"], expires: "0", cseq: 3 }), {
    username: "201",
    source,
  }, options);
  eq(r2.status, 200);
  eq(locations.getBindings("201", clock.wallNow()).length, 0);
});

Deno.test("Contact: * without Expires: 0 is a 400", async () => {
  const { options } = setup();
  const res = await handleRegister(register({ contacts: ["*"] }), { username: "201", source }, options);
  eq(res.status, 400);
});

Deno.test("too short an expiry gets 423 with Min-Expires", async () => {
  const { options } = setup();
  const res = await handleRegister(register({ expires: "10" }), { username: "201", source }, options);
  eq(res.status, 423);
  eq(getHeader(res, "Min-Expires"), "60");
});

Deno.test("an expiry above the maximum is capped", async () => {
  const { options } = setup();
  const res = await handleRegister(register({ expires: "99999" }), { username: "201", source }, options);
  ok(getHeaderValues(res, "Contact")[0]?.includes("expires=3600"));
});

Deno.test("credentials of another extension cannot register this one (403)", async () => {
  const { options } = setup();
  const res = await handleRegister(register({ user: "202" }), { username: "201", source }, options);
  eq(res.status, 403);
});

Deno.test("REGISTER for an unknown extension gets 404", async () => {
  const { options } = setup();
  const res = await handleRegister(register({ user: "999" }), { username: "999", source }, options);
  eq(res.status, 404);
});

Deno.test("an out-of-order REGISTER with the same Call-ID and a lower CSeq changes nothing", async () => {
  const { options, locations } = setup();
  await handleRegister(register({ cseq: 5, expires: "600" }), { username: "201", source }, options);
  const before = [...locations.rows.values()][0]?.expiresAt;
  const res = await handleRegister(
    register({ cseq: 4, expires: "60" }),
    { username: "201", source },
    options,
  );
  eq(res.status, 500);
  eq([...locations.rows.values()][0]?.expiresAt, before);
});

Deno.test("a refresh from the same phone does not notify listeners; a new contact or a removal does", async () => {
  const { options } = setup();
  const changes: string[] = [];
  options.onChange = (ext) => changes.push(ext);
  await handleRegister(register({ cseq: 1 }), { username: "201", source }, options);
  await handleRegister(register({ cseq: 2 }), { username: "201", source }, options);
  eq(changes, ["201"]);
  await handleRegister(register({ cseq: 3, contacts: ["<sip:201@192.0.2.10:5062>"] }), {
    username: "201",
    source,
  }, options);
  await handleRegister(register({ cseq: 4, expires: "0" }), { username: "201", source }, options);
  eq(changes, ["201", "201", "201"]);
});
