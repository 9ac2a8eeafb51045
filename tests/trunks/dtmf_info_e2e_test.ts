/**
 * DTMF per trunk, SIP INFO mode, with sipp on both sides:
 * - out: 202 calls out of an INFO trunk and presses "1" (RFC 4733, while it sends audio); the
 *   carrier (sipp) gets it as an INFO application/dtmf-relay "Signal=1" (the offer carried no
 *   telephone-event) and no tones in its audio;
 * - in: the carrier calls a DID that rings 201 (sipp); 201 plays "1" as RFC 4733 and the carrier
 *   gets INFO "Signal=1"; the carrier's INFO "Signal=5" reaches 201 as RFC 4733 (the box logs
 *   what it sent);
 * - inband: the phone's RFC 4733 digit is written into the audio toward the trunk as tones (found
 *   there by the box's own DTMF detector), and no INFO is sent.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { createSocket } from "node:dgram";
import { DtmfDetector } from "../../runtime/media/dtmf/mod.ts";
import { encodeAlaw, ulawToLinear } from "../../runtime/media/g711/g711.ts";
import { describeSipp, freeUdpPort, hasBinary, runSipp, startSipp } from "../_harness/mod.ts";
import { assertOk, EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "../voicemail/_scenarios.ts";

const HERE = new URL("./", import.meta.url).pathname;

/**
 * A pcap (as sipp's play_pcap_audio replays it) of 3 s of PCMA audio (a quiet 400 Hz tone) with the
 * digit "1" as RFC 4733 events (payload type 101) at 1.0-1.2 s in the same stream, as a phone
 * sends a key press during a call.
 */
function audioWithEvent(): Uint8Array {
  const packets: {
    usec: number;
    pt: number;
    seq: number;
    ts: number;
    marker: boolean;
    payload: Uint8Array;
  }[] = [];
  let seq = 0;
  const pcm = new Int16Array(160);
  for (let i = 0; i < 150; i++) {
    for (let n = 0; n < 160; n++) {
      pcm[n] = Math.round(2000 * Math.sin((2 * Math.PI * 400 * (i * 160 + n)) / 8000));
    }
    const payload = new Uint8Array(160);
    encodeAlaw(pcm, payload);
    packets.push({ usec: i * 20_000, pt: 8, seq: seq++, ts: i * 160, marker: false, payload });
    if (i >= 50 && i < 60) {
      // One event: 200 ms, the last packet (end bit) sent three times.
      const duration = (i - 49) * 160;
      const end = i === 59;
      for (let k = 0; k < (end ? 3 : 1); k++) {
        packets.push({
          usec: i * 20_000 + 1000 + k * 100,
          pt: 101,
          seq: seq++,
          ts: 50 * 160,
          marker: i === 50,
          payload: new Uint8Array([1, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]),
        });
      }
    }
  }
  const size = (p: { payload: Uint8Array }) => 16 + 14 + 20 + 8 + 12 + p.payload.length;
  const out = new Uint8Array(24 + packets.reduce((s, p) => s + size(p), 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  let at = 24;
  for (const p of packets) {
    const len = size(p) - 16;
    v.setUint32(at, Math.floor(p.usec / 1e6), true);
    v.setUint32(at + 4, p.usec % 1e6, true);
    v.setUint32(at + 8, len, true);
    v.setUint32(at + 12, len, true);
    const ip = at + 16 + 14;
    v.setUint16(at + 16 + 12, 0x0800, false);
    out[ip] = 0x45;
    v.setUint16(ip + 2, len - 14, false);
    out[ip + 8] = 64;
    out[ip + 9] = 17;
    out.set([127, 0, 0, 1], ip + 12);
    out.set([127, 0, 0, 1], ip + 16);
    v.setUint16(ip + 20, 4000, false);
    v.setUint16(ip + 22, 4001, false);
    v.setUint16(ip + 24, 8 + 12 + p.payload.length, false);
    const rtp = ip + 28;
    out[rtp] = 0x80;
    out[rtp + 1] = (p.marker ? 0x80 : 0) | p.pt;
    v.setUint16(rtp + 2, p.seq & 0xffff, false);
    v.setUint32(rtp + 4, p.ts, false);
    v.setUint32(rtp + 8, 0x5eed1234, false);
    out.set(p.payload, rtp + 12);
    at += size(p);
  }
  return out;
}

/** A socket the carrier's SDP names: the audio it gets is decoded (PCMU) and searched for DTMF. */
async function listenDtmf() {
  const port = await freeUdpPort();
  const sock = createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(port, "127.0.0.1", resolve));
  const detector = new DtmfDetector();
  const heard: string[] = [];
  let packets = 0;
  sock.on("message", (data: Uint8Array) => {
    if (data.length <= 12 || (data[0]! & 0xc0) !== 0x80 || (data[1]! & 0x7f) !== 0) return;
    packets++;
    const pcm = new Int16Array(data.length - 12);
    for (let i = 12; i < data.length; i++) pcm[i - 12] = ulawToLinear(data[i]!);
    heard.push(...detector.process(pcm));
  });
  return {
    port,
    heard,
    packets: () => packets,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

Deno.test({
  name: "trunks: DTMF per trunk: SIP INFO toward the trunk and from it, in-band tones",
  ignore: !hasBinary("sipp"),
  async fn(t) {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-dtmf-info-" });
    const pbx = await startPbx();
    // 202 calls out and presses "1" (RFC 4733) while it sends audio.
    const keyPress = async () => {
      Deno.writeFileSync(`${tmp}/key.pcap`, audioWithEvent());
      const caller = `${tmp}/caller.xml`;
      Deno.writeTextFileSync(caller, callerScenario([{ pcap: `${tmp}/key.pcap` }, { pauseMs: 3500 }], "bye"));
      assertOk(
        await runSipp({
          scenario: caller,
          target: pbx.target,
          user: "202",
          password: EXT["202"],
          service: "95552345678",
          timeoutSec: 30,
        }),
        "caller",
      );
    };
    const carrierAt = async (file: string, port: number, dtmf: string) => {
      const scenario = `${tmp}/carrier-${dtmf}.xml`;
      Deno.writeTextFileSync(
        scenario,
        Deno.readTextFileSync(file)
          .replace(/m=audio \[media_port\] RTP\/AVP [0-9 ]+/, `m=audio ${port} RTP/AVP 0`)
          .replace(/\s*a=rtpmap:8 PCMA\/8000/, "")
          .replace(/\s*a=rtpmap:101 telephone-event\/8000/, "")
          .replace(/\s*a=fmtp:101 0-15/, ""),
      );
      const far = await startSipp({ scenario, calls: 1, timeoutSec: 40 });
      await pbx.api.put("/api/trunks/carrier", {
        kind: "peer",
        host: "127.0.0.1",
        port: far.localPort,
        addresses: ["127.0.0.9"],
        dtmf,
      });
      return far;
    };
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/trunks/carrier", {
          kind: "peer",
          host: "127.0.0.1",
          addresses: ["127.0.0.9"],
        });
        await pbx.api.put("/api/outbound-routes/us", {
          patterns: ["9|NXXNXXXXXX"],
          prepend: "1",
          class: "national",
          trunks: ["carrier"],
        });

        await t.step(
          "info: the phone's RFC 4733 digit reaches the carrier as INFO, not as tones",
          async () => {
            const audio = await listenDtmf();
            const far = await carrierAt(`${HERE}uas_info_dtmf.xml`, audio.port, "info");
            try {
              await keyPress();
              const r = await far.done;
              assertOk(r, "the carrier got the INFO");
              ok(
                !/a=rtpmap:\d+ telephone-event/.test(r.messages.split("SIP/2.0 200")[0]!),
                "no telephone-event offered",
              );
              ok(/Content-Type: application\/dtmf-relay[\s\S]*Signal=1/.test(r.messages), describeSipp(r));
              await pbx.app.waitForLog(/dtmf sent as INFO .*to=b digit=1/, 10_000);
            } finally {
              await far.stop().catch(() => {});
              await audio.close();
            }
            ok(audio.packets() > 50, `the carrier got audio (${audio.packets()} packets)`);
            eq(audio.heard, [], "no tones in the audio of an INFO trunk");
          },
        );

        await t.step(
          "inband: the phone's RFC 4733 digit becomes tones in the trunk's audio, no INFO",
          async () => {
            const audio = await listenDtmf();
            const far = await carrierAt(
              new URL("../sipp/uas_answer.xml", import.meta.url).pathname,
              audio.port,
              "inband",
            );
            try {
              await keyPress();
              const r = await far.done;
              assertOk(r, "carrier");
              ok(!/^INFO /m.test(r.messages), "no INFO to an inband trunk");
            } finally {
              await far.stop().catch(() => {});
              await audio.close();
            }
            eq(audio.heard, ["1"], `the carrier's audio carries the digit (${audio.packets()} packets)`);
          },
        );

        await t.step(
          "in: 201's digit goes to the carrier as INFO, the carrier's INFO reaches 201",
          async () => {
            await pbx.api.put("/api/trunks/carrier", {
              kind: "peer",
              host: "127.0.0.9",
              addresses: ["127.0.0.9"],
              dtmf: "info",
            });
            await pbx.api.put("/api/dids/5551000", { destination: "201" });
            const scenario = `${tmp}/phone.xml`;
            Deno.writeTextFileSync(
              scenario,
              Deno.readTextFileSync(new URL("../sipp/uas_answer.xml", import.meta.url)).replace(
                '<recv request="ACK" optional="false" rtd="true" crlf="true" />',
                '<recv request="ACK" optional="false" rtd="true" crlf="true" />\n' +
                  '  <pause milliseconds="300" />\n' +
                  '  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_1.pcap" /></action></nop>',
              ),
            );
            await using desk = await phone(pbx, "201", scenario);
            const r = await runSipp({
              scenario: `${HERE}uac_peer_info_dtmf.xml`,
              target: pbx.target,
              user: "15557654321",
              service: "5551000",
              args: ["-i", "127.0.0.9"],
              timeoutSec: 30,
            });
            assertOk(r, "the carrier got INFO Signal=1 and its INFO was answered");
            assertOk(await desk.done, "201 answered");
            await pbx.app.waitForLog(/dtmf sent as INFO .*to=a digit=1/, 10_000);
            await pbx.app.waitForLog(/dtmf .*side=a digit=5 source=info sent=rfc4733/, 10_000);
          },
        );
      })();
    } finally {
      await pbx.app.stop();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
