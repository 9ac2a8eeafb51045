/**
 * RTP hijack ("RTP bleed", issue 18.2) through the real appliance: sipp places a PCMU call
 * (tests/sipp/uac_pcmu_rtp_peer.xml) whose media is a Deno RtpPeer; the callee is sipp + RtpPeer
 * (tests/media/_support.ts rtpCallee). Both stream noise at each other while an attacker sprays
 * every RTP port of the box with bursts of packets of its own SSRC. The attacker must receive
 * nothing, none of its packets may reach a party, and both parties keep hearing each other.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import dgram from "node:dgram";
import { describeSipp, hasBinary, pickPortRange, startAppliance } from "../_harness/mod.ts";
import { writeRtpHeader } from "../../runtime/media/rtp/rtp.ts";
import {
  APP_ENV,
  decodeStream,
  openCodec,
  rtpCallee,
  rtpCaller,
  setupExtensions,
  sleep,
  windowedCorrelation,
  withAppLog,
} from "./_support.ts";

const ATTACK_SSRC = 0xbad0bad0;

/** Band-limited noise (deterministic per seed) at 8 kHz. */
function noise(seconds: number, seed: number): Int16Array {
  const out = new Int16Array(seconds * 8000);
  let x = seed >>> 0;
  let prev = 0;
  for (let i = 0; i < out.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const v = (x / 2 ** 32 - 0.5) * 16000;
    prev = (prev + v) / 2;
    out[i] = Math.round(prev);
  }
  return out;
}

/** Sprays `ports` with bursts of `burst` PCMU packets of one new SSRC every `everyMs`. */
class Attacker {
  received = 0;
  sent = 0;
  #sock: dgram.Socket;
  #timer: ReturnType<typeof setInterval> | undefined;
  #seq = 1;
  #ts = 0;

  private constructor(sock: dgram.Socket) {
    this.#sock = sock;
    sock.on("message", () => this.received++);
  }

  static open(): Promise<Attacker> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket("udp4");
      s.once("error", reject);
      s.bind(0, "127.0.0.1", () => resolve(new Attacker(s)));
    });
  }

  spray(ports: number[], burst: number, everyMs: number): void {
    const pkt = new Uint8Array(12 + 160).fill(0xff);
    this.#timer = setInterval(() => {
      for (let i = 0; i < burst; i++) {
        writeRtpHeader(pkt, { payloadType: 0, sequence: this.#seq, timestamp: this.#ts, ssrc: ATTACK_SSRC });
        this.#seq = (this.#seq + 1) & 0xffff;
        this.#ts = (this.#ts + 160) >>> 0;
        for (const p of ports) {
          this.#sock.send(pkt, p, "127.0.0.1");
          this.sent++;
        }
      }
    }, everyMs);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  close(): Promise<void> {
    this.stop();
    return new Promise((r) => this.#sock.close(() => r()));
  }
}

Deno.test({
  name: "an attacker spraying the RTP port range mid-call receives nothing and the call keeps its audio",
  ignore: !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A small range (10 pairs) so the spray covers every port the box might use, at a modest rate.
    const rtpPorts = await pickPortRange(20);
    await using app = await startAppliance({ env: APP_ENV, rtpPorts });
    const attacker = await Attacker.open();
    try {
      await withAppLog(app, async () => {
        await setupExtensions(app, ["1001", "1002"]);
        await using callee = await rtpCallee(app, "1002", ["0 PCMU/8000"]);
        await using call = await rtpCaller(app, {
          scenario: "uac_pcmu_rtp_peer.xml",
          user: "1001",
          service: "1002",
        });
        const { sipp, peer: caller, boxPort: boxA } = call;
        const aSent = noise(4, 1);
        const bSent = noise(4, 2);
        const toA = () => ({ address: "127.0.0.1", port: boxA });
        // The callee answers toward the port the box sends it media from (its leg's port).
        const toB = () => {
          const first = callee.peer.received[0];
          return first === undefined ? null : { address: "127.0.0.1", port: first.from.port };
        };
        const codecA = openCodec("PCMU", 8000);
        const codecB = openCodec("PCMU", 8000);
        const streams = Promise.all([
          caller.stream(toA, codecA, 0, aSent),
          callee.peer.stream(toB, codecB, 0, bSent),
        ]);
        await sleep(1000);
        const before = [caller.received.length, callee.peer.received.length];
        // Six packets of a new SSRC between two 20 ms packets, on every RTP port, for two seconds.
        const ports: number[] = [];
        for (let p = rtpPorts[0] + (rtpPorts[0] % 2); p + 1 <= rtpPorts[1]; p += 2) ports.push(p);
        attacker.spray(ports, 6, 20);
        await sleep(2000);
        attacker.stop();
        const during = [caller.received.length - before[0]!, callee.peer.received.length - before[1]!];
        await streams;
        codecA.close();
        codecB.close();
        const result = await sipp.done;
        assert(result.ok, `the call failed: ${describeSipp(result)}`);
        assert(attacker.sent > 5000, `the attacker sent ${attacker.sent} packets`);
        assertEquals(attacker.received, 0, "the attacker received media");
        const leaked = [...caller.received, ...callee.peer.received].filter((p) =>
          p.header.ssrc === ATTACK_SSRC
        );
        assertEquals(leaked.length, 0, "attacker packets reached a party");
        // 2 s at 50 packets/s each way while the spray ran.
        assert(
          during[0]! >= 80 && during[1]! >= 80,
          `packets during the attack: to A ${during[0]}, to B ${during[1]}`,
        );
        const dec = openCodec("PCMU", 8000);
        const heardByB = decodeStream(callee.peer.received, 0, dec);
        const heardByA = decodeStream(caller.received, 0, dec);
        dec.close();
        const windows = [1.2, 1.6, 2.0, 2.4, 2.8];
        const aToB = windowedCorrelation(aSent, heardByB, 8000, windows);
        const bToA = windowedCorrelation(bSent, heardByA, 8000, windows);
        assert(aToB > 0.8, `A->B correlation during the attack ${aToB}`);
        assert(bToA > 0.8, `B->A correlation during the attack ${bToA}`);
      });
    } finally {
      await attacker.close();
    }
  },
});
