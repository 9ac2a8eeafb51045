/**
 * Music on hold through the real appliance: sipp 201 calls sipp 202 and holds (a=sendonly); the
 * held party's RTP port is a socket of this test, which counts the packets the box sends while the
 * call is held and checks their payload is not silence. Resume is checked by sipp (a=sendrecv both
 * ways) and by the box's log saying the music stopped.
 */
import { equal, ok } from "node:assert";
import { writeWav } from "../../runtime/media/wav/mod.ts";
import { createSocket } from "node:dgram";
import { assertOk, call, register, startPbx, withLogs } from "./_setup.ts";
import { freeUdpPort, startSipp } from "../_harness/mod.ts";

Deno.test("a held party hears music on hold from the box; resume stops it", async (t) => {
  const pbx = await startPbx();
  try {
    await t.step(
      "hold: RTP with non-silent G.711 arrives at the held party",
      withLogs(pbx, () => heldPartyHearsMusic(pbx, "uas_hold_moh.xml", "uac_hold_music.xml")),
    );
    await t.step(
      "hold of a wideband (G.722) call: the music comes in G.722",
      withLogs(pbx, () => heldPartyHearsMusic(pbx, "uas_hold_moh_g722.xml", "uac_hold_music_g722.xml", 9)),
    );
    await t.step(
      "an uploaded class (44.1 kHz stereo WAV) is what held parties hear; broken uploads are refused",
      withLogs(pbx, async () => {
        const upload = async (name: string, body: Uint8Array) => {
          const res = await fetch(`${pbx.app.baseUrl}/api/moh/classes/${name}`, {
            method: "PUT",
            headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
            body: body.slice(),
          });
          return { status: res.status, body: await res.json() };
        };
        const wav = toneWav(44100, 2, 3);
        const truncated = await upload("broken", wav.subarray(0, 40));
        equal(truncated.status, 400);
        ok(/not a usable WAV file/.test(truncated.body.error), truncated.body.error);
        const text = await upload("text", new TextEncoder().encode("not audio at all"));
        equal(text.status, 400);
        ok(/not a WAV file/.test(text.body.error), text.body.error);
        const up = await upload("lobby", wav); // larger than the API's 64 KiB default body limit
        equal(up.status, 201, JSON.stringify(up.body));
        equal(up.body.sampleRate, 44100);
        const api = await pbx.app.adminApi();
        await api.put("/api/moh/selected", { class: "lobby" });
        const list = await api.get<{ classes: { name: string; selected: boolean }[] }>("/api/moh/classes");
        ok(list.classes.some((c) => c.name === "lobby" && c.selected), JSON.stringify(list));
        await heldPartyHearsMusic(pbx, "uas_hold_moh_g722.xml", "uac_hold_music_g722.xml", 9);
        ok(
          /music on hold started.*class="?lobby"?/.test(pbx.app.logs()),
          "the held party heard the uploaded class",
        );
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});

/** One held call through the box: the held party's RTP port (a socket here) must receive music. */
async function heldPartyHearsMusic(
  pbx: Awaited<ReturnType<typeof startPbx>>,
  uasScenario: string,
  uacScenario: string,
  payloadType?: number,
): Promise<void> {
  const port = await freeUdpPort();
  const sock = createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(port, "127.0.0.1", resolve));
  let packets = 0;
  const types = new Set<number>();
  const values = new Set<number>();
  sock.on("message", (data: Uint8Array) => {
    if (data.length <= 12 || (data[0]! & 0xc0) !== 0x80) return; // RTP version 2 only
    packets++;
    types.add(data[1]! & 0x7f);
    for (const b of data.subarray(12)) values.add(b);
  });
  try {
    await using uas = await startSipp({
      scenario: uasScenario,
      timeoutSec: 30,
      keys: { moh_port: String(port) },
    });
    assertOk(await register(pbx, "202", uas.localPort), "register 202");
    assertOk(await call(pbx, "201", "202", uacScenario), "caller held and resumed");
    assertOk(await uas.done, "held party saw sendonly, then sendrecv");
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
  // 2.5 s on hold at 20 ms per packet is about 125 packets; any sizeable count shows the music.
  ok(packets >= 25, `only ${packets} RTP packets reached the held party`);
  // Silence encodes to one or two byte values; a melody spreads over many.
  ok(values.size > 20, `payload looks like silence (${values.size} distinct byte values)`);
  if (payloadType !== undefined) {
    ok(types.has(payloadType), `music not sent as payload type ${payloadType}: saw ${[...types]}`);
  }
  const logs = pbx.app.logs();
  ok(/music on hold started/.test(logs), "the box logged the start");
  ok(/music on hold stopped/.test(logs), "resume (or the call's end) stopped the music");
  ok(/call resumed/.test(logs), "the box saw the resume");
}

/** `seconds` of a 440 Hz tone over `channels` channels. */
function toneWav(rate: number, channels: number, seconds: number): Uint8Array {
  const n = Math.round(rate * seconds);
  const pcm = new Int16Array(n * channels);
  for (let i = 0; i < n * channels; i++) {
    pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * Math.floor(i / channels)) / rate));
  }
  return writeWav({ sampleRate: rate, channels }, pcm);
}
