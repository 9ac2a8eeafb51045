/**
 * Outside lines against real peers: kamailio as the carrier's registrar with digest auth (the box's
 * registration trunk registers and keeps alive), baresip as the far-end caller reaching a DID that
 * rings a baresip phone with audio both ways, sipp phones calling out through a route (strip and
 * prepend seen at the far end, a first trunk answering 503 failing over to the second), an
 * IP-peer trunk accepted from its address and refused from another, and E911 (9911 from a phone
 * without outside permission reaches the carrier with PIDF-LO and Geolocation, an email arrives at
 * a real SMTP server, test mode sends 933 and refuses 911).
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import {
  correlate,
  describeSipp,
  hasAiosmtpd,
  hasBinary,
  parseMime,
  readWav,
  runSipp,
  startBaresip,
  startSipp,
  startSmtpSink,
  toMono,
} from "../_harness/mod.ts";
import { assertOk, call, EXT, startPbx, withLogs } from "../sip/_setup.ts";
import { hasKamailio, startCarrier } from "./_carrier.ts";

const HERE = new URL("./", import.meta.url).pathname;
const CARRIER_PASSWORD = "Carrier-Trunk-7731";

interface TrunkView {
  id: string;
  hasPassword: boolean;
  calls: number;
  state: { registration?: { status: string; detail: string }; keepalive?: { status: string } };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test({
  name: "trunks: kamailio registrar, DID to a baresip phone, outbound failover, peer trunk, E911",
  ignore: !hasKamailio() || !hasBinary("sipp") || !hasBinary("baresip") || !hasAiosmtpd(),
  async fn(t) {
    const pbx = await startPbx();
    await using sink = await startSmtpSink();
    // The far end of outbound calls (behind the carrier), and a carrier that is down (503).
    const far = await startSipp({ scenario: "uas_answer.xml", calls: 4, timeoutSec: 170 });
    const down = await startSipp({ scenario: `${HERE}uas_503.xml`, calls: 1, timeoutSec: 170 });
    const carrier = await startCarrier({
      boxPort: pbx.app.sipPort,
      uasPort: far.localPort,
      password: CARRIER_PASSWORD,
      trunkUser: "box1",
    });
    try {
      await withLogs(pbx, async () => {
        await t.step("registration trunk registers at kamailio with digest auth; keepalive up", async () => {
          const put = await pbx.api.put<TrunkView>("/api/trunks/carrier", {
            kind: "register",
            host: "127.0.0.1",
            port: carrier.port,
            username: "box1",
            password: CARRIER_PASSWORD,
            callerId: "15550001000",
            keepaliveSeconds: 5,
          });
          eq(put.hasPassword, true);
          ok(!JSON.stringify(put).includes(CARRIER_PASSWORD), "no password in the API answer");
          const view = await until("registration", async () => {
            const v = await pbx.api.get<TrunkView>("/api/trunks/carrier");
            return v.state.registration?.status === "registered" && v.state.keepalive?.status === "up"
              ? v
              : undefined;
          });
          ok(view.state.registration!.detail.startsWith("registered for"), view.state.registration!.detail);
          ok(/CARRIER registered sip:box1@127\.0\.0\.1/.test(carrier.logs()), carrier.logs().slice(-2000));
          // The dashboard's health figures carry the trunk's state.
          const status = await pbx.api.get<{ health: { trunks?: unknown[] } }>("/api/system/status");
          eq(status.health.trunks, [{ id: "carrier", registration: "registered", keepalive: "up" }]);
          await pbx.api.put("/api/trunks/down", {
            kind: "peer",
            host: "127.0.0.1",
            port: down.localPort,
            addresses: ["127.0.0.9"],
          });
          await pbx.api.put("/api/trunks/peer", {
            kind: "peer",
            host: "127.0.0.5",
            addresses: ["127.0.0.5/32"],
          });
        });

        await using phone = await startBaresip({
          user: "201",
          password: EXT["201"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await phone.registered();

        await t.step("a DID reached through kamailio rings a baresip phone; audio both ways", async () => {
          await pbx.api.put("/api/dids/5551000", { destination: "201", name: "Main line" });
          await using caller = await startBaresip({ user: "15557654321", codecs: ["PCMU"] });
          await caller.dial(`sip:5551000@127.0.0.1:${carrier.port}`);
          await phone.waitForEvent("CALL_ESTABLISHED", 15_000);
          await caller.waitForEvent("CALL_ESTABLISHED", 15_000);
          await new Promise((r) => setTimeout(r, 3000));
          await caller.hangup();
          await phone.waitForEvent("CALL_CLOSED", 10_000);
          await caller.stop();
          const cSent = toMono(await readWav((await caller.recordings()).sent[0]!));
          const cHeard = toMono(await readWav((await caller.recordings()).received[0]!));
          const pSent = toMono(await readWav((await phone.recordings()).sent[0]!));
          const pHeard = toMono(await readWav((await phone.recordings()).received[0]!));
          const toPhone = correlate(cSent.subarray(8000, 16000), pHeard).maxCorr;
          const toCaller = correlate(pSent.subarray(8000, 16000), cHeard).maxCorr;
          ok(toPhone > 0.9, `the phone hears the outside caller: ${toPhone.toFixed(3)}`);
          ok(toCaller > 0.9, `the outside caller hears the phone: ${toCaller.toFixed(3)}`);
          ok(/CARRIER to box: sip:box1@127\.0\.0\.1/.test(carrier.logs()));
        });

        await t.step("a trunk call to a number that is no DID gets 404 and rings no phone", async () => {
          const incoming = phone.events().filter((e) => e.type === "CALL_INCOMING").length;
          const r = await runSipp({
            scenario: `${HERE}uac_peer_call.xml`,
            target: `127.0.0.1:${carrier.port}`,
            user: "15557654321",
            service: "5559999",
            timeoutSec: 10,
          });
          ok(!r.ok && /SIP\/2\.0 404/.test(r.messages), describeSipp(r));
          eq(phone.events().filter((e) => e.type === "CALL_INCOMING").length, incoming);
          ok(/no DID refused/.test(pbx.app.logs()), "logged");
        });

        await t.step(
          "a peer trunk: accepted from its address, refused from another loopback address",
          async () => {
            const accepted = await runSipp({
              scenario: `${HERE}uac_peer_call.xml`,
              target: pbx.target,
              user: "15557654321",
              service: "5551000",
              args: ["-i", "127.0.0.5"],
              timeoutSec: 15,
            });
            assertOk(accepted, "peer trunk call");
            const refused = await runSipp({
              scenario: `${HERE}uac_peer_call.xml`,
              target: pbx.target,
              user: "15557654321",
              service: "5551000",
              args: ["-i", "127.0.0.6"],
              timeoutSec: 10,
            });
            ok(!refused.ok && /SIP\/2\.0 (401|403|407)/.test(refused.messages), describeSipp(refused));
          },
        );

        await t.step(
          "outbound: 9 stripped, 1 prepended, the 503 trunk fails over to the carrier",
          async () => {
            await pbx.api.put("/api/outbound-routes/us", {
              patterns: ["9|NXXNXXXXXX"],
              prepend: "1",
              class: "national",
              trunks: ["down", "carrier"],
            });
            assertOk(await call(pbx, "202", "95552345678", "uac_short_call.xml"), "outbound call");
            const downSaw = await down.done;
            ok(
              /INVITE sip:15552345678@127\.0\.0\.1:\d+ SIP\/2\.0/.test(downSaw.messages),
              describeSipp(downSaw),
            );
            ok(
              /CARRIER from box: sip:15552345678@127\.0\.0\.1/.test(carrier.logs()),
              carrier.logs().slice(-3000),
            );
          },
        );

        await t.step("international is refused by default (403)", async () => {
          await pbx.api.put("/api/outbound-routes/intl", {
            patterns: ["9011."],
            class: "international",
            trunks: ["carrier"],
          });
          assertOk(await call(pbx, "202", "9011441234567", `${HERE}uac_403.xml`), "international refused");
        });

        await t.step(
          "E911: 9911 without outside permission reaches the carrier with PIDF-LO; email sent",
          async () => {
            await pbx.api.put("/api/mail/settings", {
              host: "127.0.0.1",
              port: sink.port,
              security: "none",
              from: "pbx@example.test",
            });
            await pbx.api.put("/api/e911", { email: ["desk@example.test"], callbackNumber: "15550009111" });
            await pbx.api.put("/api/outbound-permissions/202", { classes: ["internal"] });
            await pbx.api.put("/api/e911/locations/extension/202", {
              address: "100 Main St, Springfield, IL",
              street: "Main St",
              houseNumber: "100",
              floor: "2",
              room: "201",
            });
            assertOk(await call(pbx, "202", "9911", "uac_short_call.xml"), "9911");
            const mail = await parseMime(await sink.received(1));
            ok(/Emergency call 911 from extension 202/.test(mail.subject), mail.subject);
            ok(mail.text.includes("floor 2, room 201") && mail.text.includes("15550009111"), mail.text);
          },
        );

        await t.step("test mode: 933 goes out, 911 is refused", async () => {
          await pbx.api.put("/api/e911", { testMode: true });
          assertOk(await call(pbx, "202", "933", "uac_short_call.xml"), "933 in test mode");
          assertOk(await call(pbx, "202", "911", `${HERE}uac_403.xml`), "911 refused in test mode");
          await pbx.api.put("/api/e911", { testMode: false });
        });

        await t.step("the far end saw the INVITEs: caller ID, PAI, Geolocation and the PIDF-LO", async () => {
          const r = await far.stop();
          const m = r.messages;
          ok(/INVITE sip:15552345678@/.test(m), describeSipp(r));
          ok(/From: (?:"Phone 202" )?<sip:15550001000@127\.0\.0\.1>/.test(m), "trunk caller ID in From");
          ok(/P-Asserted-Identity: "Phone 202" <sip:15550001000@127\.0\.0\.1>/.test(m), "PAI with the name");
          ok(/INVITE sip:911@/.test(m) && /Geolocation: <cid:loc-/.test(m), "911 with Geolocation");
          ok(/Content-Type: application\/pidf\+xml/.test(m) && /<ca:FLR>2<\/ca:FLR>/.test(m), "PIDF-LO");
          ok(/P-Asserted-Identity: (?:"Phone 202" )?<sip:15550009111@/.test(m), "callback number");
          ok(/INVITE sip:933@/.test(m), "933 in test mode");
        });

        await t.step(
          "a wrong password: kamailio refuses it, the trunk shows failed and backs off",
          async () => {
            await pbx.api.put("/api/trunks/carrier", {
              kind: "register",
              host: "127.0.0.1",
              port: carrier.port,
              username: "box1",
              password: "Wrong-Password-42",
            });
            const v = await until("registration failure", async () => {
              const x = await pbx.api.get<
                TrunkView & { state: { registration?: { lastStatus?: number; retryAt?: number } } }
              >(
                "/api/trunks/carrier",
              );
              return x.state.registration?.status === "failed" ? x : undefined;
            });
            eq(v.state.registration!.detail, "credentials refused");
            eq(v.state.registration!.lastStatus, 401);
            ok((v.state.registration!.retryAt ?? 0) > Date.now(), "a retry is scheduled later");
          },
        );

        await t.step("the trunk password is in no log and no API answer", async () => {
          ok(!pbx.app.logs().includes(CARRIER_PASSWORD), "not in the appliance log");
          ok(!pbx.app.logs().includes("Wrong-Password-42"), "nor the wrong one");
          const all = await pbx.api.get("/api/trunks");
          ok(!JSON.stringify(all).includes(CARRIER_PASSWORD), "not in GET /api/trunks");
          // The backup (a copy of the database) holds it only sealed.
          const res = await fetch(`${pbx.app.baseUrl}/api/system/backup`, {
            headers: { authorization: `Bearer ${await pbx.app.adminToken()}` },
          });
          eq(res.status, 200);
          const backup = new Uint8Array(await res.arrayBuffer());
          ok(backup.length > 10_000, `backup of ${backup.length} bytes`);
          const text = new TextDecoder("latin1").decode(backup);
          ok(!text.includes(CARRIER_PASSWORD), "not in the backup in clear");
          ok(text.includes('"username":"box1"'), "the trunk is in the backup");
        });
      })();
    } finally {
      await carrier.stop();
      await far.stop().catch(() => {});
      await down.stop().catch(() => {});
      await pbx.app.stop();
    }
  },
});
