/**
 * The transcoding leak check of plane_transcode_test.ts, run in a process of its own so that its
 * RSS reading is not disturbed by other test files (deno test --parallel shares a process).
 * Prints one JSON line: {resources, growthMb}.
 */
import { MediaPlane } from "../../runtime/media/relay/mod.ts";
import { pickPortRange } from "../_harness/mod.ts";
import { openCodec, RtpPeer } from "./_support.ts";

async function startPlane(): Promise<MediaPlane> {
  const [portMin, portMax] = await pickPortRange(400);
  return MediaPlane.start({ bind: "127.0.0.1", portMin, portMax });
}

const plane = await startPlane();
const peer = await RtpPeer.open();
const enc = openCodec("opus", 48000);
const frame = new Uint8Array(1500);
const n = enc.encode(new Int16Array(320), frame);
try {
  const cycle = async (i: number) => {
    const a = await plane.allocateLeg();
    const b = await plane.allocateLeg();
    await plane.configureLeg(a.legId, { payloadMap: { 96: "opus/48000" } });
    await plane.configureLeg(b.legId, {
      remote: { address: "127.0.0.1", port: peer.port },
      payloadMap: { 18: "G729/8000" },
    });
    const ra = { codec: "opus/48000", pt: 96 };
    const rb = { codec: "G729/8000", pt: 18 };
    await plane.bridge(a.legId, b.legId, {
      transcode: { aToB: { from: ra, to: rb }, bToA: { from: rb, to: ra } },
    });
    // Every tenth cycle carries a packet into the pipeline too.
    if (i % 10 === 0) peer.send({ address: "127.0.0.1", port: a.rtpPort }, 96, frame.subarray(0, n), 960);
    await plane.releaseLeg(a.legId);
    await plane.releaseLeg(b.legId);
  };
  for (let i = 0; i < 200; i++) await cycle(i);
  const before = Deno.memoryUsage().rss;
  for (let i = 200; i < 1000; i++) await cycle(i);
  const after = Deno.memoryUsage().rss;
  const r = await plane.resources();
  console.log(JSON.stringify({
    resources: { legs: r.legs, codecs: r.codecs, resamplers: r.resamplers, dirs: r.transcodeDirections },
    growthMb: (after - before) / 2 ** 20,
  }));
} finally {
  enc.close();
  await peer.close();
  await plane.close();
}
