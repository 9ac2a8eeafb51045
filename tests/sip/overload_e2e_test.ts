/**
 * Overload admission through the real appliance: with more calls in set-up than
 * PBX_MAX_CALLS_SETTING_UP (1 here) and no per-source share left (0), a new INVITE gets 503 with
 * Retry-After before any digest check, while a REGISTER still gets its challenge and emergency
 * numbers (911, an emergency page *802) are not shed.
 */
import { ok } from "node:assert";
import { startSipp } from "../_harness/mod.ts";
import { udpExchange } from "./_raw.ts";
import { EXT, phone, startPbx, withLogs } from "./_setup.ts";

function request(method: string, user: string, port: number, n: number): string {
  const body = method === "INVITE"
    ? "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    : "";
  return [
    `${method} sip:${method === "REGISTER" ? "" : `${user}@`}127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5999;rport;branch=z9hG4bKover${n}`,
    "Max-Forwards: 70",
    `From: <sip:201@127.0.0.1>;tag=over${n}`,
    `To: <sip:${method === "REGISTER" ? "201" : user}@127.0.0.1>`,
    `Call-ID: overload-${n}@test`,
    `CSeq: 1 ${method}`,
    "Contact: <sip:201@127.0.0.1:5999>",
    ...(body !== "" ? ["Content-Type: application/sdp"] : []),
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

Deno.test("with too many calls in set-up a new INVITE gets 503 + Retry-After; REGISTER and emergency calls are not shed", async () => {
  const pbx = await startPbx({
    PBX_MAX_CALLS_SETTING_UP: "1",
    PBX_OVERLOAD_SOURCE_SHARE: "0",
    PBX_NO_ANSWER_SECONDS: "20",
  });
  try {
    await withLogs(pbx, async () => {
      await pbx.api.post("/api/paging/zones", {
        number: "802",
        name: "Yard",
        alsaDevice: null,
        channels: [1],
      });
      await using uas = await phone(pbx, "202", "uas_ring_no_answer.xml");
      // One call rings (in set-up) for as long as the test needs.
      const caller = await startSipp({
        scenario: "uac_wait_bye.xml",
        target: pbx.target,
        user: "201",
        password: EXT["201"],
        service: "202",
        timeoutSec: 30,
      });
      try {
        let ringing = false;
        for (let i = 0; i < 100 && !ringing; i++) {
          const { items } = await pbx.api.get<{ items: { state: string }[] }>("/api/calls");
          ringing = items.some((c) => c.state === "ringing" || c.state === "dialing");
          if (!ringing) await new Promise((r) => setTimeout(r, 100));
        }
        ok(ringing, "the first call is in set-up");
        const port = pbx.app.sipPort;
        const shed = await udpExchange(port, request("INVITE", "203", port, 1));
        ok(shed?.startsWith("SIP/2.0 503"), `a new call is shed: ${shed}`);
        ok(/^Retry-After: \d+/m.test(shed!), `with Retry-After: ${shed}`);
        const reg = await udpExchange(port, request("REGISTER", "201", port, 2));
        ok(reg?.startsWith("SIP/2.0 401"), `REGISTER is not shed: ${reg}`);
        for (const [n, number] of [[3, "911"], [4, "*802"]] as const) {
          const res = await udpExchange(port, request("INVITE", number, port, n));
          ok(
            res !== undefined && !res.startsWith("SIP/2.0 503"),
            `an emergency call to ${number} is not shed: ${res}`,
          );
        }
        ok(
          /overloaded: shedding new calls with 503.*set-up backlog/.test(pbx.app.logs()),
          "the log says why",
        );
      } finally {
        await caller.stop();
        await uas.stop();
      }
    })();
  } finally {
    await pbx.app.stop();
  }
});
