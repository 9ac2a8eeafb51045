/**
 * SRTP beyond phone-to-phone calls (issue 16): a baresip phone with mandatory SRTP over TLS leaves a
 * voicemail (a call the box answers itself, runtime/call/local.ts) and the stored message carries
 * its signal; a blind transfer to an SRTP-required phone gives the target an SRTP leg. tcpdump on
 * the loopback over the box's media ports shows no plain PCMU in either.
 */
import { ok } from "node:assert";
import {
  type Appliance,
  type Baresip,
  correlate,
  hasBinary,
  LoggedProcess,
  parseWav,
  readPcapRtp,
  readWav,
  startBaresip,
  toMono,
} from "../_harness/mod.ts";
import { EXT, startPbx, withLogs } from "./_setup.ts";
import { greetingWav } from "../voicemail/_fake_leg.ts";

const ready = hasBinary("baresip") && hasBinary("tcpdump");

/** RTP payload sizes of 20 ms PCMU under each suite's tag (4, 10 or 16 bytes). */
const TAGGED = new Set([160 + 4, 160 + 10, 160 + 16]);

/** tcpdump on the box's media ports while `fn` runs; returns the PCMU packets captured. */
async function captured(app: Appliance, fn: () => Promise<void>): Promise<{ payload: Uint8Array }[]> {
  const pcap = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const [rtpMin, rtpMax] = app.rtpPorts;
    const dump = new LoggedProcess("tcpdump", {
      args: ["-i", "lo", "-n", "-U", "-w", pcap, "udp", "and", "portrange", `${rtpMin}-${rtpMax}`],
      name: "tcpdump",
    });
    try {
      await dump.waitForLog(/listening on/i, 10_000);
      await fn();
    } finally {
      await dump.stop("SIGINT", 5000);
    }
    return readPcapRtp(await Deno.readFile(pcap)).filter((p) => p.payloadType === 0);
  } finally {
    await Deno.remove(pcap).catch(() => {});
  }
}

function assertAllSrtp(packets: { payload: Uint8Array }[], min: number): void {
  ok(packets.length > min, `captured ${packets.length} PCMU packets`);
  const sizes = [...new Set(packets.map((p) => p.payload.length))];
  ok(packets.every((p) => TAGGED.has(p.payload.length)), `payload sizes ${sizes}: plain RTP on the wire`);
}

/** Dial until the box takes the call (it sheds new calls with 503 while a loaded machine lags). */
async function dialUntil(a: Baresip, uri: string, established: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const before = (a.logs().match(/503 Service Unavailable/g) ?? []).length;
    await a.dial(uri);
    try {
      await established();
      return;
    } catch (e) {
      const shed = (a.logs().match(/503 Service Unavailable/g) ?? []).length > before;
      if (!shed || attempt >= 4) throw new Error(`${(e as Error).message}\n${a.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

Deno.test({
  name: "baresip (srtp-mand over TLS) leaves a voicemail: the box answers RTP/SAVP, the stored WAV holds " +
    "the phone's signal, no plain RTP on the wire",
  ignore: !ready,
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/extensions/202", { options: { srtp: "required" } });
        // A 300 ms greeting, so the tone comes quickly.
        const up = await fetch(`${pbx.app.baseUrl}/api/voicemail/mailboxes/201/greetings/unavailable`, {
          method: "PUT",
          headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
          body: greetingWav(),
        });
        ok(up.status === 200, await up.text());
        let phone: Baresip | undefined;
        const packets = await captured(pbx.app, async () => {
          phone = await startBaresip({
            user: "202",
            password: EXT["202"],
            transport: "tls",
            caFile: `${pbx.app.dataDir}/tls/ca/rootCA.pem`,
            sipPort: pbx.app.sipTlsPort!,
            mediaenc: "srtp-mand",
            codecs: ["PCMU"],
          });
          await phone.registered(15_000);
          await dialUntil(
            phone,
            `sip:*99201@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`,
            () => phone!.waitForEvent("CALL_ESTABLISHED", 15_000),
          );
          await pbx.app.waitForLog(/feature call answered/, 10_000);
          ok(/SRTP on.*suite=/.test(pbx.app.logs()), "the feature call's leg is keyed");
          // Greeting and tone, then some seconds of the phone's signal.
          await new Promise((r) => setTimeout(r, 8000));
          await phone.hangup();
          await pbx.app.waitForLog(/voicemail message stored/, 15_000);
          await phone.stop();
        });
        try {
          assertAllSrtp(packets, 200);
          const list = await pbx.api.get<{ messages: { id: string; caller: string }[] }>(
            "/api/voicemail/mailboxes/201/messages",
          );
          const msg = list.messages[0];
          ok(msg !== undefined && msg.caller === "202", JSON.stringify(list));
          const audio = await fetch(`${pbx.app.baseUrl}/api/voicemail/messages/${msg.id}/audio`, {
            headers: { authorization: `Bearer ${await pbx.app.adminToken()}` },
          });
          const stored = toMono(parseWav(new Uint8Array(await audio.arrayBuffer())));
          const signal = toMono(await readWav(phone!.playWav));
          const corr = Math.max(
            ...[8000, 16000, 24000].map((at) =>
              correlate(signal.subarray(at, at + 8000), stored, {
                maxLagSamples: stored.length,
                minOverlap: 8000,
              }).maxCorr
            ),
          );
          ok(corr > 0.9, `the phone's signal is in the stored message: correlation ${corr.toFixed(3)}`);
          ok(!/inline:/.test(pbx.app.logs()), "no SDES key in the log");
        } finally {
          await phone?.remove();
        }
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});

Deno.test({
  name: "blind transfer to an SRTP-required phone: the target's new leg is SRTP, transferee and target " +
    "hear each other, no plain RTP on the wire",
  ignore: !ready,
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        for (const n of ["201", "202", "203"]) {
          await pbx.api.put(`/api/extensions/${n}`, { options: { srtp: "required" } });
        }
        const tls = {
          transport: "tls" as const,
          caFile: `${pbx.app.dataDir}/tls/ca/rootCA.pem`,
          sipPort: pbx.app.sipTlsPort!,
          mediaenc: "srtp-mand" as const,
          codecs: ["PCMU"],
        };
        const phones: Baresip[] = [];
        try {
          const packets = await captured(pbx.app, async () => {
            const target = await startBaresip({
              user: "203",
              password: EXT["203"],
              ...tls,
              signal: { fromHz: 500, toHz: 2500, periodSec: 0.9 },
            });
            phones.push(target);
            const transferor = await startBaresip({ user: "202", password: EXT["202"], ...tls });
            phones.push(transferor);
            const transferee = await startBaresip({ user: "201", password: EXT["201"], ...tls });
            phones.push(transferee);
            for (const p of phones) await p.registered(15_000);
            await dialUntil(
              transferee,
              `sip:202@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`,
              () => transferor.waitForEvent("CALL_ESTABLISHED", 15_000),
            );
            await new Promise((r) => setTimeout(r, 1000));
            // 202 transfers 201 to 203 (REFER): the box rings 203 with an SRTP offer.
            await transferor.command("transfer", `sip:203@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`);
            await target.waitForEvent("CALL_ESTABLISHED", 20_000);
            await pbx.app.waitForLog(/transfer completed/, 10_000);
            await new Promise((r) => setTimeout(r, 4000));
            await target.hangup();
            await transferee.waitForEvent("CALL_CLOSED", 10_000);
            for (const p of phones) await p.stop();
          });
          const logs = pbx.app.logs();
          ok((logs.match(/SRTP on/g) ?? []).length >= 3, "both legs and the target's leg are keyed");
          assertAllSrtp(packets, 300);
          const targetSent = toMono(await readWav((await phones[0]!.recordings()).sent[0]!));
          const targetHeard = toMono(await readWav((await phones[0]!.recordings()).received[0]!));
          const eeSent = toMono(await readWav((await phones[2]!.recordings()).sent[0]!));
          const eeHeard = toMono(await readWav((await phones[2]!.recordings()).received[0]!));
          const toTarget = correlate(eeSent.subarray(8000, 16000), targetHeard, {
            maxLagSamples: targetHeard.length + eeSent.length,
          }).maxCorr;
          const toEe = correlate(targetSent.subarray(8000, 16000), eeHeard, {
            maxLagSamples: eeHeard.length,
            minOverlap: 8000,
          }).maxCorr;
          ok(toTarget > 0.9, `203 hears 201: correlation ${toTarget.toFixed(3)}`);
          ok(toEe > 0.9, `201 hears 203: correlation ${toEe.toFixed(3)}`);
        } finally {
          for (const p of phones) await p.remove();
        }
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});

Deno.test({
  name: "baresip with DTLS-SRTP (dtls_srtp over TLS) calls an SDES phone (srtp-mand) through the box: " +
    "audio both ways, no plain RTP; then leaves a voicemail over DTLS-SRTP",
  ignore: !ready,
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/extensions/202", { options: { srtp: "required" } });
        const up = await fetch(`${pbx.app.baseUrl}/api/voicemail/mailboxes/202/greetings/unavailable`, {
          method: "PUT",
          headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
          body: greetingWav(),
        });
        ok(up.status === 200, await up.text());
        const tls = {
          transport: "tls" as const,
          caFile: `${pbx.app.dataDir}/tls/ca/rootCA.pem`,
          sipPort: pbx.app.sipTlsPort!,
          codecs: ["PCMU"],
        };
        const phones: Baresip[] = [];
        try {
          const packets = await captured(pbx.app, async () => {
            const b = await startBaresip({
              user: "202",
              password: EXT["202"],
              ...tls,
              mediaenc: "srtp-mand",
            });
            phones.push(b);
            const a = await startBaresip({
              user: "201",
              password: EXT["201"],
              ...tls,
              mediaenc: "dtls_srtp",
            });
            phones.push(a);
            await a.registered(15_000);
            await b.registered(15_000);
            await dialUntil(
              a,
              `sip:202@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`,
              () => b.waitForEvent("CALL_ESTABLISHED", 15_000),
            );
            await pbx.app.waitForLog(/DTLS-SRTP on leg=\S+ suite=\S+/, 10_000);
            ok(/SRTP on.*suite=/.test(pbx.app.logs()), "the SDES callee's leg is keyed");
            await new Promise((r) => setTimeout(r, 3000));
            await a.hangup();
            await b.waitForEvent("CALL_CLOSED", 10_000);
          });
          assertAllSrtp(packets, 200);
          const [b, a] = phones as [Baresip, Baresip];
          const aSent = toMono(await readWav((await a.recordings()).sent[0]!));
          const aHeard = toMono(await readWav((await a.recordings()).received[0]!));
          const bSent = toMono(await readWav((await b.recordings()).sent[0]!));
          const bHeard = toMono(await readWav((await b.recordings()).received[0]!));
          const aToB = correlate(aSent.subarray(8000, 16000), bHeard).maxCorr;
          const bToA = correlate(bSent.subarray(8000, 16000), aHeard).maxCorr;
          ok(aToB > 0.9, `202 (SDES) hears 201 (DTLS-SRTP): correlation ${aToB.toFixed(3)}`);
          ok(bToA > 0.9, `201 (DTLS-SRTP) hears 202 (SDES): correlation ${bToA.toFixed(3)}`);

          // The same DTLS-SRTP phone leaves a voicemail: the feature call's leg is DTLS-SRTP too.
          const dtlsLines = (pbx.app.logs().match(/DTLS-SRTP on leg=/g) ?? []).length;
          await dialUntil(
            a,
            `sip:*99202@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`,
            () => pbx.app.waitForLog(/feature call answered/, 15_000),
          );
          for (
            let i = 0;
            i < 100 && (pbx.app.logs().match(/DTLS-SRTP on leg=/g) ?? []).length <= dtlsLines;
            i++
          ) {
            await new Promise((r) => setTimeout(r, 100));
          }
          ok(
            (pbx.app.logs().match(/DTLS-SRTP on leg=/g) ?? []).length > dtlsLines,
            "feature leg keyed by DTLS",
          );
          await new Promise((r) => setTimeout(r, 7000));
          await a.hangup();
          await pbx.app.waitForLog(/voicemail message stored/, 15_000);
          const list = await pbx.api.get<{ messages: { id: string }[] }>(
            "/api/voicemail/mailboxes/202/messages",
          );
          const audio = await fetch(
            `${pbx.app.baseUrl}/api/voicemail/messages/${list.messages[0]!.id}/audio`,
            {
              headers: { authorization: `Bearer ${await pbx.app.adminToken()}` },
            },
          );
          const stored = toMono(parseWav(new Uint8Array(await audio.arrayBuffer())));
          const signal = toMono(await readWav(a.playWav));
          const corr = Math.max(
            ...[8000, 16000, 24000].map((at) =>
              correlate(signal.subarray(at, at + 8000), stored, {
                maxLagSamples: stored.length,
                minOverlap: 8000,
              })
                .maxCorr
            ),
          );
          ok(
            corr > 0.9,
            `the DTLS-SRTP phone's signal is in the stored message: correlation ${corr.toFixed(3)}`,
          );
        } finally {
          for (const p of phones) await p.remove();
        }
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});
