import assert from "node:assert/strict";
import { errorOf, webFixture } from "./_test_fixture.ts";

/** Reads SSE events from a response body. */
function sseReader(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  return {
    /** The next event (name and parsed data), skipping comments and retry lines. */
    async next(): Promise<{ event: string; data: unknown }> {
      for (;;) {
        const end = buf.indexOf("\n\n");
        if (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) return { event, data: JSON.parse(data) };
          continue;
        }
        const { done, value } = await reader.read();
        if (done) throw new Error("stream ended");
        buf += decoder.decode(value, { stream: true });
      }
    },
    async rest(): Promise<string> {
      let out = buf;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return out;
        out += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

function register(f: Awaited<ReturnType<typeof webFixture>>, ext: string) {
  f.storage.locations.upsert({
    extension: ext,
    contactUri: `sip:${ext}@192.0.2.50:5060`,
    expiresAt: f.clock.wallNow() + 60_000,
    callId: ext,
    cseq: 1,
    sourceTransport: "udp",
    sourceAddress: "192.0.2.50",
    sourcePort: 5060,
    userAgent: "Test Phone",
  });
}

Deno.test("events stream starts with snapshots and pushes coalesced registration and call changes", async () => {
  using f = await webFixture();
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
  const res = await f.req("/api/events", { token });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const sse = sseReader(res);
  try {
    assert.deepEqual(await sse.next(), { event: "registrations", data: { items: [] } });
    assert.deepEqual(await sse.next(), { event: "calls", data: { items: [] } });
    register(f, "201");
    f.live.emit("registrations");
    f.live.emit("registrations");
    f.live.calls.push({ id: "c1", caller: "201", callee: "202", state: "ringing", startedAt: 1 });
    f.live.emit("calls");
    f.live.emit("zones");
    f.clock.advance(250);
    const regs = await sse.next();
    assert.equal(regs.event, "registrations");
    assert.deepEqual((regs.data as { items: { extension: string }[] }).items.map((r) => r.extension), [
      "201",
    ]);
    assert.deepEqual(await sse.next(), {
      event: "calls",
      data: { items: [{ id: "c1", caller: "201", callee: "202", state: "ringing", startedAt: 1 }] },
    });
    assert.deepEqual(
      await sse.next(),
      { event: "zones", data: {} },
      "two registration changes became one event",
    );
  } finally {
    await sse.cancel();
  }
  assert.equal(f.live.listeners.size, 0, "closing the stream unsubscribes");
});

Deno.test("the event stream sends keep-alives and ends with `expired` once the session is revoked", async () => {
  using f = await webFixture({ deps: { eventsHeartbeatMs: 1000 } });
  const s = await f.cookieLogin();
  const res = await f.req("/api/events", { session: s });
  assert.equal(res.status, 200);
  const sse = sseReader(res);
  await sse.next();
  await sse.next();
  f.clock.advance(1000);
  f.storage.sessions.revoke(s.cookie.slice("pbx_session=".length));
  f.clock.advance(1000);
  const rest = await sse.rest();
  assert.match(rest, /: keep-alive\n\n/);
  assert.match(rest, /event: expired\n/);
  assert.equal(f.live.listeners.size, 0);
});

Deno.test("events need authentication (cookie or bearer) and the admin role", async () => {
  using f = await webFixture();
  let res = await f.req("/api/events");
  assert.equal(res.status, 401);
  await res.body?.cancel();
  res = await f.req("/api/events", { headers: { cookie: "pbx_session=" + "B".repeat(43) } });
  assert.equal(res.status, 401);
  await res.body?.cancel();
  await f.addUser("alice", "201");
  const token = await f.login("alice", "user-password-1");
  res = await f.req("/api/events", { token });
  assert.equal(res.status, 403);
  assert.match(await errorOf(res), /admin role/);
  assert.equal(f.live.listeners.size, 0);
});
