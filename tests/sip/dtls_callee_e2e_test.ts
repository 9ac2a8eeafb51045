/**
 * DTLS-SRTP toward a SIP phone (issue 16): extension 202 set to `srtpKeying: "dtls"` is offered
 * `UDP/TLS/RTP/SAVP` with the box's fingerprint; a baresip `dtls_srtp` phone there is called by a
 * baresip `srtp-mand` (SDES) phone through the box, and each hears the other (correlation); tcpdump
 * on the box's media ports sees no plain PCMU.
 */
import { ok } from "node:assert";
import {
  type Baresip,
  correlate,
  hasBinary,
  LoggedProcess,
  readPcapRtp,
  readWav,
  startBaresip,
  toMono,
} from "../_harness/mod.ts";
import { EXT, startPbx, withLogs } from "./_setup.ts";

const TAGGED = new Set([160 + 4, 160 + 10, 160 + 16]);

Deno.test({
  name: "an SDES phone calls a dtls_srtp phone (srtpKeying dtls): the box offers DTLS-SRTP, audio both ways",
  ignore: !hasBinary("baresip") || !hasBinary("tcpdump"),
  async fn() {
    const pbx = await startPbx();
    const pcap = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/extensions/201", { options: { srtp: "required" } });
        await pbx.api.put("/api/extensions/202", { options: { srtp: "required", srtpKeying: "dtls" } });
        const bad = await pbx.api.request("PUT", "/api/extensions/202", { options: { srtpKeying: "zrtp" } });
        ok(bad.status === 400 && /srtpKeying must be/.test(JSON.stringify(bad.body)), JSON.stringify(bad));
        const tls = {
          transport: "tls" as const,
          caFile: `${pbx.app.dataDir}/tls/ca/rootCA.pem`,
          sipPort: pbx.app.sipTlsPort!,
          codecs: ["PCMU"],
        };
        const [rtpMin, rtpMax] = pbx.app.rtpPorts;
        const dump = new LoggedProcess("tcpdump", {
          args: ["-i", "lo", "-n", "-U", "-w", pcap, "udp", "and", "portrange", `${rtpMin}-${rtpMax}`],
          name: "tcpdump",
        });
        const phones: Baresip[] = [];
        try {
          await dump.waitForLog(/listening on/i, 10_000);
          const b = await startBaresip({ user: "202", password: EXT["202"], ...tls, mediaenc: "dtls_srtp" });
          phones.push(b);
          const a = await startBaresip({ user: "201", password: EXT["201"], ...tls, mediaenc: "srtp-mand" });
          phones.push(a);
          await a.registered(15_000);
          await b.registered(15_000);
          for (let attempt = 1;; attempt++) {
            const shed = (a.logs().match(/503 Service Unavailable/g) ?? []).length;
            await a.dial(`sip:202@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`);
            try {
              await b.waitForEvent("CALL_ESTABLISHED", 15_000);
              break;
            } catch (e) {
              if ((a.logs().match(/503 Service Unavailable/g) ?? []).length === shed || attempt >= 4) {
                throw new Error(`${(e as Error).message}\n${b.logs().slice(-3000)}`);
              }
              await new Promise((r) => setTimeout(r, 2000));
            }
          }
          await pbx.app.waitForLog(/DTLS-SRTP on leg=\S+ suite=\S+/, 10_000);
          ok(/SRTP on.*suite=/.test(pbx.app.logs()), "the SDES caller's leg is keyed");
          await new Promise((r) => setTimeout(r, 3000));
          await a.hangup();
          await b.waitForEvent("CALL_CLOSED", 10_000);
          for (const p of phones) await p.stop();
        } finally {
          await dump.stop("SIGINT", 5000);
        }
        const [b, a] = phones as [Baresip, Baresip];
        const aSent = toMono(await readWav((await a.recordings()).sent[0]!));
        const aHeard = toMono(await readWav((await a.recordings()).received[0]!));
        const bSent = toMono(await readWav((await b.recordings()).sent[0]!));
        const bHeard = toMono(await readWav((await b.recordings()).received[0]!));
        const aToB = correlate(aSent.subarray(8000, 16000), bHeard).maxCorr;
        const bToA = correlate(bSent.subarray(8000, 16000), aHeard).maxCorr;
        ok(aToB > 0.9, `202 (DTLS-SRTP) hears 201 (SDES): correlation ${aToB.toFixed(3)}`);
        ok(bToA > 0.9, `201 (SDES) hears 202 (DTLS-SRTP): correlation ${bToA.toFixed(3)}`);
        const packets = readPcapRtp(await Deno.readFile(pcap)).filter((p) => p.payloadType === 0);
        ok(packets.length > 200, `captured ${packets.length} PCMU packets`);
        ok(
          packets.every((p) => TAGGED.has(p.payload.length)),
          `payload sizes ${[...new Set(packets.map((p) => p.payload.length))]}`,
        );
        for (const p of phones) await p.remove();
      })();
    } finally {
      await pbx.app.stop();
      await Deno.remove(pcap).catch(() => {});
    }
  },
});
