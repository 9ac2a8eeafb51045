/**
 * Hosts the box's MediaPlane (runtime/media/relay) in its own process for relay_density.ts, so its
 * CPU can be read from /proc and pinned with taskset. No SIP is involved: this drives the media
 * plane the way the B2BUA does (allocate two legs, point them at the SDP remotes, bridge them).
 *
 * stdin, one JSON per line: {"op":"setup","calls":N,"a":{"address","port"},"b":{"address","port"}}
 * -> stdout {"ports":[[portA,portB],...]} (portA: where the caller sends, portB: the callee);
 * {"op":"teardown"} -> {"ok":true}; {"op":"quit"} exits. Arguments: PORT_MIN PORT_MAX.
 */
import { MediaPlane } from "../../runtime/media/relay/mod.ts";

type Endpoint = { address: string; port: number };
type Cmd =
  | { op: "setup"; calls: number; a: Endpoint; b: Endpoint }
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
