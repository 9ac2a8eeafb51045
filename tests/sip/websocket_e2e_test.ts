/**
 * SIP over WebSocket (RFC 7118) through the real appliance, with JsSIP (npm `jssip`, the browser
 * SIP library, run here in Deno; nobody here wrote it) as the phone: it registers as extension 201
 * over `ws://box/ws` with digest auth, and a sipp phone's call to 201 reaches it over the same
 * WebSocket (JsSIP answers 486, which the caller sees). Bad input on the WebSocket path (no
 * upgrade, no `sip` subprotocol, garbage frames) gets clear answers and leaves the box running.
 */
import { equal, ok } from "node:assert";
import { assertOk, call, EXT, startPbx, withLogs } from "./_setup.ts";

/** Resolve on `event`, reject on `failure`, from a JsSIP emitter. */
function once(emitter: { once(e: string, f: (x: unknown) => void): void }, event: string, failure: string) {
  return new Promise<unknown>((resolve, reject) => {
    emitter.once(event, resolve);
    emitter.once(
      failure,
      (e) => reject(new Error(`${failure}: ${JSON.stringify((e as { cause?: string })?.cause)}`)),
    );
  });
}

Deno.test({
  name:
    "JsSIP registers over SIP WebSocket with digest auth and receives a call on it; bad WebSocket input is refused",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const pbx = await startPbx();
    try {
      const url = `ws://127.0.0.1:${pbx.app.httpPort}/ws`;
      await t.step("a plain GET on /ws is told to upgrade; no sip subprotocol is refused", async () => {
        const plain = await fetch(`http://127.0.0.1:${pbx.app.httpPort}/ws`);
        equal(plain.status, 426);
        ok(/WebSocket upgrade/.test((await plain.json()).error));
        const wrong = await new Promise<string>((resolve) => {
          const ws = new WebSocket(url, "chat");
          ws.onopen = () => (ws.close(), resolve("opened"));
          ws.onerror = () => resolve("refused");
        });
        equal(wrong, "refused");
      });

      await t.step(
        "garbage on the SIP WebSocket is dropped with a log line; the box keeps serving",
        withLogs(pbx, async () => {
          const ws = new WebSocket(url, "sip");
          await new Promise((r) => (ws.onopen = r));
          ws.send("this is not SIP\r\n\r\n");
          ws.send(new Uint8Array([0, 1, 2, 3, 255]));
          await new Promise((r) => setTimeout(r, 300));
          ws.close();
          const health = await fetch(`${pbx.app.baseUrl}/api/health`);
          equal(health.status, 200);
          await health.body?.cancel();
        }),
      );

      await t.step(
        "JsSIP registers as 201 over the WebSocket; sipp's call to 201 arrives there",
        withLogs(pbx, async () => {
          // JsSIP is a browser library: it looks for `window`, and answers 488 to any INVITE where
          // RTCPeerConnection is missing. The media side is not under test here (the browser phone
          // test is), so a do-nothing RTCPeerConnection lets JsSIP's call logic see the INVITE.
          const g = globalThis as { window?: unknown; RTCPeerConnection?: unknown };
          g.window ??= globalThis;
          g.RTCPeerConnection ??= class {
            constructor() {
              return new Proxy(this, { get: (o, k) => k in o ? (o as never)[k] : () => Promise.resolve() });
            }
          };
          const { default: JsSIP } = await import("jssip");
          const socket = new JsSIP.WebSocketInterface(url);
          const ua = new JsSIP.UA({
            sockets: [socket],
            uri: "sip:201@127.0.0.1",
            password: EXT["201"],
            register: true,
            session_timers: false,
          });
          const incoming: string[] = [];
          ua.on(
            "newRTCSession",
            (
              e: {
                originator: string;
                request: { from: { uri: { user: string } } };
                session: { terminate(o: unknown): void };
              },
            ) => {
              if (e.originator !== "remote") return;
              incoming.push(e.request.from.uri.user);
              e.session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
            },
          );
          const registered = once(ua, "registered", "registrationFailed");
          ua.start();
          try {
            await registered;
            const regs = JSON.stringify(await pbx.api.get("/api/registrations"));
            ok(/"201"/.test(regs) && /ws/i.test(regs), `201 registered over ws: ${regs}`);
            ok(/SIP WebSocket connected/.test(pbx.app.logs()), "the box logged the WebSocket");
            assertOk(await call(pbx, "202", "201", "uac_busy.xml"), "202 calls 201 and gets JsSIP's 486");
            equal(incoming.join(), "202", "the INVITE reached JsSIP over the WebSocket");
          } finally {
            const unregistered = new Promise((r) => ua.once("unregistered", r));
            ua.unregister();
            await Promise.race([unregistered, new Promise((r) => setTimeout(r, 2000))]);
            ua.stop();
            await new Promise((r) => setTimeout(r, 200));
          }
        }),
      );
    } finally {
      await pbx.app.stop();
    }
  },
});
