/**
 * Hosts the box's MediaPlane (runtime/media/relay) in its own process for relay_density.ts, so its
 * CPU can be read from /proc and pinned with taskset. No SIP is involved: this drives the media
 * plane the way the B2BUA does (allocate two legs, point them at the SDP remotes, bridge them).
 *
 * stdin, one JSON per line: {"op":"setup","calls":N,"a":{"address","port"},"b":{"address","port"}}
 * -> stdout {"ports":[[portA,portB],...]} (portA: where the caller sends, portB: the callee);
 * {"op":"teardown"} -> {"ok":true}; {"op":"quit"} exits. Arguments: PORT_MIN PORT_MAX.
 *
 * With `"srtp": SUITE` in setup each call is RTP -> SRTP -> RTP inside the box: four legs, the
 * caller's plain leg bridged to an SRTP leg that sends to a second SRTP leg (keys crossed), bridged
 * to the callee's plain leg. Every packet is protected once and unprotected once (what an SRTP<->RTP
 * call costs at both ends), the same chain rtpengine is given in relay_density.ts.
 */
import { SRTP_SUITES, type SrtpSuite } from "../../drivers/srtp/mod.ts";
import { MediaPlane } from "../../runtime/media/relay/mod.ts";

type Endpoint = { address: string; port: number };
type Cmd =
  | { op: "setup"; calls: number; a: Endpoint; b: Endpoint; srtp?: SrtpSuite }
  | { op: "teardown" }
  | { op: "quit" };

// Phones normally offer telephone-event; without it the worker would run in-band DTMF detection.
const PAYLOADS = { 0: "PCMU/8000", 101: "telephone-event/8000" };

const plane = await MediaPlane.start({
  bind: "127.0.0.1",
  portMin: Number(Deno.args[0] ?? 20000),
  portMax: Number(Deno.args[1] ?? 29999),
});
let legs: string[] = [];
const out = (v: unknown) => Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(v) + "\n"));
out({ ready: true });

async function handle(cmd: Cmd): Promise<boolean> {
  switch (cmd.op) {
    case "setup": {
      const ports: [number, number][] = [];
      if (cmd.srtp !== undefined) {
        const info = SRTP_SUITES[cmd.srtp];
        const key = () => crypto.getRandomValues(new Uint8Array(info.keyLength + info.saltLength));
        for (let i = 0; i < cmd.calls; i++) {
          const [a, s1, s2, b] = [
            await plane.allocateLeg(),
            await plane.allocateLeg(),
            await plane.allocateLeg(),
            await plane.allocateLeg(),
          ];
          const k1 = key();
          const k2 = key();
          const here = (p: number) => ({ address: "127.0.0.1", port: p });
          await plane.configureLeg(a.legId, { remote: cmd.a, payloadMap: PAYLOADS });
          await plane.configureLeg(s1.legId, {
            remote: here(s2.rtpPort),
            payloadMap: PAYLOADS,
            srtp: { suite: cmd.srtp, sendKey: k1.slice(), recvKey: k2.slice() },
          });
          await plane.configureLeg(s2.legId, {
            remote: here(s1.rtpPort),
            payloadMap: PAYLOADS,
            srtp: { suite: cmd.srtp, sendKey: k2.slice(), recvKey: k1.slice() },
          });
          await plane.configureLeg(b.legId, { remote: cmd.b, payloadMap: PAYLOADS });
          await plane.bridge(a.legId, s1.legId);
          await plane.bridge(s2.legId, b.legId);
          legs.push(a.legId, s1.legId, s2.legId, b.legId);
          ports.push([a.rtpPort, b.rtpPort]);
        }
        out({ ports });
        return true;
      }
      for (let i = 0; i < cmd.calls; i++) {
        const a = await plane.allocateLeg();
        const b = await plane.allocateLeg();
        await plane.configureLeg(a.legId, { remote: cmd.a, payloadMap: PAYLOADS });
        await plane.configureLeg(b.legId, { remote: cmd.b, payloadMap: PAYLOADS });
        await plane.bridge(a.legId, b.legId);
        legs.push(a.legId, b.legId);
        ports.push([a.rtpPort, b.rtpPort]);
      }
      out({ ports });
      return true;
    }
    case "teardown":
      for (const l of legs) await plane.releaseLeg(l);
      legs = [];
      out({ ok: true });
      return true;
    case "quit":
      return false;
  }
}

const decoder = new TextDecoder();
let buf = "";
outer: for await (const chunk of Deno.stdin.readable) {
  buf += decoder.decode(chunk, { stream: true });
  let nl: number;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, nl).trim();
    buf = buf.slice(nl + 1);
    if (line === "") continue;
    try {
      if (!(await handle(JSON.parse(line) as Cmd))) break outer;
    } catch (e) {
      out({ error: String(e) });
    }
  }
}
await plane.close();
