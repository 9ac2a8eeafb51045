/**
 * A phone pages a zone through the real appliance. sipp (extension 201) dials the zone number and
 * plays 7 s of G.711 from a pcap; ALSA's `file` plugin over `null` stands in for a 4-channel DAC,
 * and the zone is a `route` PCM putting mono audio on channel 2. The file must hold the pre-tone,
 * then the caller's audio on channel 2 only, then the post-tone, at 48 kHz, written in real time.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { available as alsaAvailable } from "../../drivers/alsa/mod.ts";
import { DAC_RATE, makeDac } from "./_dac.ts";
import { assertOk, call, startPbx, withLogs } from "../sip/_setup.ts";

/** Goertzel power of `hz` relative to total power over a window. */
function toneShare(x: Int16Array, hz: number): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / DAC_RATE);
  let s1 = 0, s2 = 0, energy = 0;
  for (const v of x) {
    const s = v + k * s1 - s2;
    s2 = s1;
    s1 = s;
    energy += v * v;
  }
  const p = s1 * s1 + s2 * s2 - k * s1 * s2;
  return energy === 0 ? 0 : (2 * p) / (x.length * energy);
}

function rms(x: Int16Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return Math.sqrt(e / Math.max(1, x.length));
}

Deno.test({
  name: "a call to the zone 2 number pages channel 2 of the DAC: pre-tone, live audio, post-tone",
  ignore: !alsaAvailable(),
  async fn() {
    const dac = await makeDac("pbx-page-e2e-");
    const pbx = await startPbx(dac.env);
    try {
      await withLogs(pbx, async () => {
        await pbx.api.post("/api/paging/zones", {
          number: "802",
          name: "Warehouse",
          alsaDevice: "zone2",
          channels: [1],
          preTone: "!1000/400",
          postTone: "!600/300",
          ampLine: `file:${dac.dir}/amp`,
          leadMs: 100,
          tailMs: 200,
        });
        await pbx.api.put("/api/paging/permissions/201", { targets: ["802"] });

        const started = performance.now();
        assertOk(await call(pbx, "201", "802", "uac_call_pcap.xml"), "page call");
        // The post-tone and the amplifier tail follow the hang-up.
        await new Promise((r) => setTimeout(r, 1500));
        const wall = (performance.now() - started) / 1000;

        const ch = await dac.channels();

        const frames = ch[0]!.length;
        const seconds = frames / DAC_RATE;
        // Paced in real time: never more audio than wall time (plus the writer's small lead).
        ok(seconds <= wall + 0.2, `${seconds.toFixed(2)} s of audio in ${wall.toFixed(2)} s`);
        ok(seconds > 7, `the page lasted ${seconds.toFixed(2)} s, expected the 7 s pcap plus tones`);
        for (const c of [0, 2, 3]) eq(rms(ch[c]!), 0, `channel ${c + 1} must stay silent`);
        const zone = ch[1]!;
        // Find where sound starts on channel 2; the first 400 ms there is the 1 kHz pre-tone.
        let start = 0;
        while (start < frames && Math.abs(zone[start]!) < 200) start++;
        const pre = zone.subarray(start + DAC_RATE * 0.05, start + DAC_RATE * 0.35);
        ok(toneShare(pre, 1000) > 0.8, `pre-tone 1 kHz share ${toneShare(pre, 1000).toFixed(2)}`);
        const speech = zone.subarray(start + DAC_RATE * 1, start + DAC_RATE * 6);
        ok(rms(speech) > 300, `caller audio present on channel 2 (rms ${rms(speech).toFixed(0)})`);
        ok(toneShare(speech, 1000) < 0.5, "the middle is the caller, not the tone");
        let end = frames - 1;
        while (end > 0 && Math.abs(zone[end]!) < 200) end--;
        const post = zone.subarray(end - DAC_RATE * 0.25, end - DAC_RATE * 0.05);
        ok(
          toneShare(post, 600) > 0.6 && toneShare(post, 600) > 5 * toneShare(post, 1000),
          `post-tone 600 Hz share ${toneShare(post, 600).toFixed(2)}`,
        );
        const amp = await Deno.readTextFile(`${dac.dir}/amp`);
        eq(amp.trim(), "0", "the amplifier is released after the tail");

        const log = await pbx.api.get<{ entries?: unknown[]; items?: unknown[] }>("/api/paging/log");
        const entries = JSON.stringify(log);
        ok(entries.includes("201") && entries.includes("802"), `audit log: ${entries.slice(0, 300)}`);
        const cdr = await pbx.api.get<{ items: { callee: string; disposition: string }[] }>("/api/cdr");
        ok(cdr.items.some((r) => r.callee === "802" && r.disposition === "answered"));
      })();
    } finally {
      await pbx.app.stop();
      await dac.remove();
    }
  },
});
