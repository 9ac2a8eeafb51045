/**
 * Encrypted calls with real phones: two baresip phones register over SIP/TLS with SRTP (SDES,
 * RFC 4568) mandatory and call each other through the box. Each hears the other's signal
 * (correlation), tcpdump on the loopback shows only SRTP on the box's media ports, packets under a
 * wrong key are dropped and logged while the call goes on, and policy refusals get 488.
 */
import { ok } from "node:assert";
import dgram from "node:dgram";
import {
  type Baresip,
  correlate,
  freeUdpPort,
  hasBinary,
  LoggedProcess,
  makeTestWav,
  readPcapRtp,
  readWav,
  startBaresip,
  toMono,
} from "../_harness/mod.ts";
import { defaultSignalFor } from "../_harness/baresip.ts";
import { SrtpSession } from "../../drivers/srtp/mod.ts";
import { writeRtpHeader } from "../../runtime/media/rtp/rtp.ts";
import { EXT, startPbx, withLogs } from "./_setup.ts";

const ready = hasBinary("baresip") && hasBinary("tcpdump");

/**
 * Dial until the callee has the call: the box sheds new calls with 503 while its event loop lags
 * (runtime/call/load_monitor.ts), which a machine loaded by parallel tests can provoke.
 */
async function dialUntilEstablished(a: Baresip, b: Baresip, uri: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const before = (a.logs().match(/503 Service Unavailable/g) ?? []).length;
    await a.dial(uri);
    try {
      await b.waitForEvent("CALL_ESTABLISHED", 15_000);
      return;
    } catch (e) {
      const shed = (a.logs().match(/503 Service Unavailable/g) ?? []).length > before;
      if (!shed || attempt >= 4) {
        throw new Error(`${(e as Error).message}\n--- caller ---\n${a.logs().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** Dial until the box answers 488 (redialling when it shed the call with 503 under load). */
async function dialUntilRefused(a: Baresip, uri: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const count = (re: RegExp) => (a.logs().match(re) ?? []).length;
    const [shed, refused] = [count(/503 Service Unavailable/g), count(/488 /g)];
    await a.dial(uri);
    for (
      let i = 0;
      i < 100 && count(/488 /g) === refused && count(/503 Service Unavailable/g) === shed;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (count(/488 /g) > refused) return;
    if (attempt >= 4) throw new Error(`no 488 for ${uri}:\n${a.logs().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** RTP payload bytes each suite's tag adds to 20 ms of PCMU (160 bytes). */
const TAGGED = new Set([160 + 4, 160 + 10, 160 + 16]);

Deno.test({
  name: "baresip phones over TLS call each other with SRTP: audio both ways, no plain RTP on the wire, " +
    "wrong-key packets dropped and logged",
  ignore: !ready,
  async fn() {
    const pbx = await startPbx();
    const pcap = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await withLogs(pbx, async () => {
        ok(pbx.app.sipTlsPort !== null, "SIP over TLS is on");
        const [rtpMin, rtpMax] = pbx.app.rtpPorts;
        // Everything on the box's media ports, both directions of both legs.
        const dump = new LoggedProcess("tcpdump", {
          args: ["-i", "lo", "-n", "-U", "-w", pcap, "udp", "and", "portrange", `${rtpMin}-${rtpMax}`],
          name: "tcpdump",
        });
        try {
          await dump.waitForLog(/listening on/i, 10_000);
          // RTP/SAVP both ways (baresip's srtp-mand answers only that; "offered" would be RTP/AVP + a=crypto).
          for (const n of ["201", "202"]) {
            await pbx.api.put(`/api/extensions/${n}`, { options: { srtp: "required" } });
          }
          const tls = {
            transport: "tls" as const,
            caFile: `${pbx.app.dataDir}/tls/ca/rootCA.pem`,
            sipPort: pbx.app.sipTlsPort!,
            mediaenc: "srtp-mand" as const,
            codecs: ["PCMU"],
          };
          await using b = await startBaresip({ user: "202", password: EXT["202"], ...tls });
          await using a = await startBaresip({ user: "201", password: EXT["201"], ...tls });
          await a.registered(15_000);
          await b.registered(15_000);
          const regs = await pbx.api.get<{ items: { extension: string; contact?: string }[] }>(
            "/api/registrations",
          );
          ok(
            regs.items.filter((r) => /transport=tls/i.test(JSON.stringify(r))).length >= 2,
            JSON.stringify(regs),
          );

          await dialUntilEstablished(a, b, `sip:202@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`);
          await pbx.app.waitForLog(/SRTP on.*suite=\S+[\s\S]*SRTP on.*suite=/, 10_000);
          await new Promise((r) => setTimeout(r, 1500));

          // Forged SRTP (right header, a key nobody agreed) sprayed at every box media port.
          const forger = new SrtpSession("outbound", {
            suite: "AES_CM_128_HMAC_SHA1_80",
            keySalt: crypto.getRandomValues(new Uint8Array(30)),
          });
          const sock = dgram.createSocket("udp4");
          await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
          try {
            let seq = 0;
            for (let round = 1; round <= 5; round++) {
              for (let p = rtpMin; p <= rtpMax; p += 2) {
                seq++; // libsrtp protects each sequence number once
                const buf = new Uint8Array(172 + 16);
                writeRtpHeader(buf, {
                  payloadType: 0,
                  sequence: seq,
                  timestamp: round * 160,
                  ssrc: 0xbad,
                  marker: false,
                });
                const n = forger.protectRtp(buf, 172);
                await new Promise<void>((r) => sock.send(buf.subarray(0, n), p, "127.0.0.1", () => r()));
              }
            }
          } finally {
            await new Promise<void>((r) => sock.close(() => r()));
            forger.close();
          }
          await pbx.app.waitForLog(/SRTP packets dropped.*status=auth_fail/, 10_000);
          await new Promise((r) => setTimeout(r, 1500));
          await a.hangup();
          await b.waitForEvent("CALL_CLOSED", 10_000);
          await a.stop();
          await b.stop();

          const aSent = toMono(await readWav((await a.recordings()).sent[0]!));
          const aHeard = toMono(await readWav((await a.recordings()).received[0]!));
          const bSent = toMono(await readWav((await b.recordings()).sent[0]!));
          const bHeard = toMono(await readWav((await b.recordings()).received[0]!));
          const aToB = correlate(aSent.subarray(8000, 16000), bHeard).maxCorr;
          const bToA = correlate(bSent.subarray(8000, 16000), aHeard).maxCorr;
          ok(aToB > 0.9, `202 hears 201: correlation ${aToB.toFixed(3)}`);
          ok(bToA > 0.9, `201 hears 202: correlation ${bToA.toFixed(3)}`);
          ok(correlate(aSent.subarray(8000, 16000), aHeard).maxCorr < 0.5, "201 does not hear itself");
        } finally {
          await dump.stop("SIGINT", 5000);
        }
        // The wire: every PCMU packet on the box's ports carries an SRTP tag; none is 160 bytes of plain audio.
        const packets = readPcapRtp(await Deno.readFile(pcap)).filter((p) => p.payloadType === 0);
        const phoneSized = packets.filter((p) => p.payload.length === 160 || p.payload.length === 172 - 12);
        ok(packets.length > 200, `captured ${packets.length} RTP packets`);
        const forged = packets.filter((p) => p.timestamp <= 5 * 160 && p.payload.length === 160 + 10);
        ok(
          packets.every((p) => TAGGED.has(p.payload.length) || forged.includes(p)),
          `payload sizes ${[...new Set(packets.map((p) => p.payload.length))]}`,
        );
        ok(phoneSized.length === 0, `${phoneSized.length} packets of plain PCMU size`);
        // Keys never reach the log (SDP is not logged; the media worker reports suites only).
        ok(!/inline:/.test(pbx.app.logs()), "no a=crypto key in the log");
        const { items } = await pbx.api.get<{ items: { disposition: string; billsecMs: number }[] }>(
          "/api/cdr",
        );
        ok(items[0]?.disposition === "answered" && items[0].billsecMs > 2000, JSON.stringify(items[0]));
        // Still serving after the forged packets.
        ok((await fetch(`${pbx.app.baseUrl}/api/health`).then((r) => r.status)) === 200);
      })();
    } finally {
      await pbx.app.stop();
      await Deno.remove(pcap).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "SRTP policy: a required extension calling over plain UDP gets 488; RTP/SAVP to an 'off' extension gets 488",
  ignore: !hasBinary("baresip"),
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/extensions/203", { options: { srtp: "required" } });
        const bad = await pbx.api.request("PUT", "/api/extensions/203", { options: { srtp: "maybe" } });
        ok(bad.status === 400 && /srtp must be/.test(JSON.stringify(bad.body)), JSON.stringify(bad));
        await using callee = await startBaresip({
          user: "202",
          password: EXT["202"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await callee.registered();
        await using c = await startBaresip({
          user: "203",
          password: EXT["203"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
          mediaenc: "srtp",
        });
        await c.registered();
        await dialUntilRefused(c, `sip:202@127.0.0.1:${pbx.app.sipPort}`);
        await pbx.app.waitForLog(/call refused: SRTP policy.*SRTP needs TLS signalling/, 5000);

        await pbx.api.put("/api/extensions/203", { options: { srtp: "off" } });
        await using d = await startBaresip({
          user: "203",
          password: EXT["203"],
          sipPort: pbx.app.sipTlsPort!,
          transport: "tls",
          caFile: `${pbx.app.dataDir}/tls/ca/rootCA.pem`,
          codecs: ["PCMU"],
          mediaenc: "srtp-mand",
        });
        await d.registered(15_000);
        await dialUntilRefused(d, `sip:202@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`);
        await pbx.app.waitForLog(/call refused: SRTP policy.*SRTP not enabled for this extension/, 5000);
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});

Deno.test({
  name:
    "linphonec over TLS with mandatory SRTP calls a baresip phone (TLS, SRTP) through the box: audio both ways",
  ignore: !hasBinary("baresip") || !hasBinary("linphonec"),
  async fn() {
    const pbx = await startPbx();
    const home = await Deno.makeTempDir({ prefix: "linphonec-srtp-" });
    try {
      await withLogs(pbx, async () => {
        for (const n of ["201", "202"]) {
          await pbx.api.put(`/api/extensions/${n}`, { options: { srtp: "required" } });
        }
        const tlsPort = pbx.app.sipTlsPort!;
        const ca = `${pbx.app.dataDir}/tls/ca/rootCA.pem`;
        await using b = await startBaresip({
          user: "202",
          password: EXT["202"],
          sipPort: tlsPort,
          transport: "tls",
          caFile: ca,
          mediaenc: "srtp-mand",
          codecs: ["PCMU"],
        });
        await b.registered(15_000);
        // linphonec: its own rc file in a temp dir (never a /dev/null config), files as its sound card.
        const signal = `${home}/signal.wav`;
        const heard = `${home}/heard.wav`;
        await makeTestWav(signal, { ...defaultSignalFor("201"), sampleRate: 8000, channels: 1, seconds: 30 });
        await Deno.mkdir(`${home}/.local/share/linphone`, { recursive: true });
        const rc = `${home}/rc`;
        await Deno.writeTextFile(
          rc,
          [
            "[sip]",
            `sip_port=${await freeUdpPort()}`,
            "sip_tcp_port=0",
            "sip_tls_port=-1",
            `root_ca=${ca}`,
            "verify_server_certs=1",
            // The CA is checked; the name is not (bctoolbox matches DNS names, the box is 127.0.0.1 here).
            "verify_server_cn=0",
            "media_encryption=srtp",
            "media_encryption_mandatory=1",
            "[sound]",
            "[rtp]",
            `audio_rtp_port=${await freeUdpPort()}`,
            "",
          ].join("\n"),
        );
        // Under machine load the box may shed the call with 503 (load monitor): run linphonec again then.
        let out = "";
        for (let attempt = 1; attempt <= 3 && !/call answered/.test(pbx.app.logs()); attempt++) {
          const p = new Deno.Command("linphonec", {
            args: ["-c", rc, "-d", "0"],
            stdin: "piped",
            stdout: "piped",
            stderr: "null",
            env: { HOME: home },
          }).spawn();
          const w = p.stdin.getWriter();
          const target = `127.0.0.1:${tlsPort};transport=tls`;
          for (
            const [line, ms] of [
              ["soundcard use files", 300],
              [`register sip:201@${target} sip:${target} ${EXT["201"]}`, 2500],
              [`call sip:202@${target}`, 2500],
              [`play ${signal}`, 200],
              [`record ${heard}`, 4000],
              ["terminate", 1000],
              ["quit", 500],
            ] as [string, number][]
          ) {
            await w.write(new TextEncoder().encode(line + "\n"));
            await new Promise((r) => setTimeout(r, ms));
          }
          await w.close().catch(() => {});
          out = new TextDecoder().decode((await p.output()).stdout);
        }
        await b.stop();
        const logs = pbx.app.logs();
        ok(
          /SRTP on.*leg-1/.test(logs) && /SRTP on.*leg-2/.test(logs),
          `both legs encrypted\n${out.slice(-1500)}`,
        );
        const bHeard = toMono(await readWav((await b.recordings()).received[0]!));
        const lHeard = toMono(await readWav(heard));
        const bSent = toMono(await readWav((await b.recordings()).sent[0]!));
        const lSent = toMono(await readWav(signal));
        const toB = correlate(lSent.subarray(8000, 16000), bHeard).maxCorr;
        const toL = correlate(bSent.subarray(8000, 16000), lHeard).maxCorr;
        ok(toB > 0.8, `baresip hears linphonec: correlation ${toB.toFixed(3)}`);
        ok(toL > 0.8, `linphonec hears baresip: correlation ${toL.toFixed(3)} (${lHeard.length} samples)`);
      })();
    } finally {
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await pbx.app.stop();
    }
  },
});

Deno.test({
  name: "baresip with DTLS-SRTP (dtls_srtp, over TLS) calls a plain RTP phone through the box: " +
    "the box answers as DTLS server with its fingerprint, audio both ways",
  ignore: !hasBinary("baresip"),
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        await using b = await startBaresip({
          user: "202",
          password: EXT["202"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await using a = await startBaresip({
          user: "201",
          password: EXT["201"],
          sipPort: pbx.app.sipTlsPort!,
          transport: "tls",
          caFile: `${pbx.app.dataDir}/tls/ca/rootCA.pem`,
          mediaenc: "dtls_srtp",
          codecs: ["PCMU"],
        });
        await a.registered(15_000);
        await b.registered();
        await dialUntilEstablished(a, b, `sip:202@127.0.0.1:${pbx.app.sipTlsPort};transport=tls`);
        await pbx.app.waitForLog(/DTLS-SRTP on leg=\S+ suite=\S+/, 10_000);
        await new Promise((r) => setTimeout(r, 3000));
        await a.hangup();
        await b.waitForEvent("CALL_CLOSED", 10_000);
        await a.stop();
        await b.stop();
        const aSent = toMono(await readWav((await a.recordings()).sent[0]!));
        const aHeard = toMono(await readWav((await a.recordings()).received[0]!));
        const bSent = toMono(await readWav((await b.recordings()).sent[0]!));
        const bHeard = toMono(await readWav((await b.recordings()).received[0]!));
        const aToB = correlate(aSent.subarray(8000, 16000), bHeard).maxCorr;
        const bToA = correlate(bSent.subarray(8000, 16000), aHeard).maxCorr;
        ok(aToB > 0.9, `202 hears 201: correlation ${aToB.toFixed(3)}`);
        ok(bToA > 0.9, `201 hears 202: correlation ${bToA.toFixed(3)}`);
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});
