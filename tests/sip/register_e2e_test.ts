/**
 * Registration with digest authentication against the real appliance (sipp), and what the box
 * does with bad input and hostile clients: every case gets a clear answer and the box keeps serving.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { assertOk, EXT, register, startPbx } from "./_setup.ts";
import { runSipp } from "../_harness/mod.ts";
import { request, statusOf, tcpExchange, udpExchange } from "./_raw.ts";

interface Reg {
  extension: string;
  contact: string;
  userAgent?: string;
}

Deno.test("registration with digest auth, unregister, and wrong passwords", async (t) => {
  const pbx = await startPbx({ PBX_AUTH_DELAY_AFTER: "2", PBX_AUTH_BLOCK_AFTER: "4" });
  try {
    await t.step("REGISTER is challenged and accepted with the right password", async () => {
      assertOk(await register(pbx, "201", 5999), "register");
      const { items } = await pbx.api.get<{ items: Reg[] }>("/api/registrations");
      ok(items.some((r) => r.extension === "201" && r.contact.includes(":5999")), JSON.stringify(items));
    });

    await t.step("a second contact for the same extension is kept alongside the first", async () => {
      assertOk(await register(pbx, "201", 5998), "register");
      const { items } = await pbx.api.get<{ items: Reg[] }>("/api/registrations");
      eq(items.filter((r) => r.extension === "201").length, 2);
    });

    await t.step("Contact: * with Expires: 0 removes every binding", async () => {
      assertOk(
        await runSipp({ scenario: "unregister.xml", target: pbx.target, user: "201", password: EXT["201"] }),
        "unregister",
      );
      const { items } = await pbx.api.get<{ items: Reg[] }>("/api/registrations");
      eq(items.filter((r) => r.extension === "201").length, 0);
    });

    await t.step("a wrong password is refused", async () => {
      const r = await runSipp({
        scenario: "register_wrong_password.xml",
        target: pbx.target,
        user: "202",
        password: "not-the-password",
      });
      assertOk(r, "refusal");
      ok(
        /SECURITY auth-failure src=127\.0\.0\.1 user=202 /.test(pbx.app.logs()),
        "the failure is logged (fail2ban format)",
      );
    });

    await t.step("repeated failures from one source are slowed, then blocked and logged", async () => {
      for (let i = 0; i < 4; i++) {
        await runSipp({
          scenario: "register_wrong_password.xml",
          target: pbx.target,
          user: "202",
          password: "bad-one",
        });
      }
      await pbx.app.waitForLog(/source blocked/, 5000);
      // Now even the right password is refused from this address for a while.
      const r = await register(pbx, "202", 5997);
      ok(!r.ok, "a blocked source cannot register");
      ok(r.messages.includes("403"), "blocked sources get 403");
    });
  } finally {
    await pbx.app.stop();
  }
});

Deno.test("bad and unusual SIP input gets a clear answer and never stops the box", async (t) => {
  const pbx = await startPbx();
  const port = pbx.app.sipPort;
  try {
    await t.step("OPTIONS is answered 200 with Allow", async () => {
      const res = await udpExchange(port, request("OPTIONS", port));
      eq(statusOf(res), 200);
      ok(/Allow: .*INVITE/.test(res!));
    });

    await t.step("an unknown method gets 501, a known unsupported one 405 with Allow", async () => {
      eq(statusOf(await udpExchange(port, request("FROBNICATE", port))), 501);
      const res = await udpExchange(port, request("PUBLISH", port));
      eq(statusOf(res), 405);
      ok(/Allow:/.test(res!));
    });

    await t.step("a malformed request gets 400 (UDP and TCP)", async () => {
      const bad = (t: "UDP" | "TCP") =>
        request("OPTIONS", port, [], "", t).replace(/CSeq: 1 OPTIONS/, "CSeq: x OPTIONS");
      eq(statusOf(await udpExchange(port, bad("UDP"))), 400);
      eq(statusOf(await tcpExchange(port, bad("TCP"))), 400);
    });

    await t.step("an oversized request gets 513 over TCP", async () => {
      const body = "x".repeat(70_000);
      const big = request("MESSAGE", port, ["Content-Type: text/plain"], body, "TCP");
      eq(statusOf(await tcpExchange(port, big)), 513);
    });

    await t.step("garbage bytes are dropped without an answer", async () => {
      const junk = crypto.getRandomValues(new Uint8Array(600));
      eq(await udpExchange(port, junk, 500), undefined);
      await tcpExchange(port, junk, 500);
    });

    await t.step("BYE and CANCEL for no call get 481", async () => {
      eq(statusOf(await udpExchange(port, request("BYE", port))), 481);
      eq(statusOf(await udpExchange(port, request("CANCEL", port))), 481);
    });

    await t.step("after all that the box is healthy and registers phones", async () => {
      const h = await fetch(`${pbx.app.baseUrl}/api/health`);
      eq(h.status, 200);
      await h.body?.cancel();
      assertOk(await register(pbx, "203", 5996), "register after abuse");
      eq(pbx.app.status(), undefined, "the process is still running");
    });
  } finally {
    await pbx.app.stop();
  }
});
