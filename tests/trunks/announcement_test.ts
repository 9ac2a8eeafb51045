/**
 * The front desk's location recording (used when the box has no text to speech), in-process: the
 * upload API (415 not a WAV type, 400 a broken WAV, 404 no such location, 200 a 44.1 kHz stereo WAV
 * stored as 16 kHz mono, DELETE 204 then 404), and an emergency call whose front desk answers
 * hearing the digit prompts' fallback: no TTS, no digit recordings, so the location's recording
 * alone (a fake call engine records what was played).
 */
import { deepStrictEqual as eq, match, ok } from "node:assert";
import { realClock } from "../../runtime/clock/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { createSecretBox, openStorage } from "../../runtime/storage/mod.ts";
import { readWav } from "../../runtime/media/wav/mod.ts";
import type { Calls, OriginatedLeg, PlaySource } from "../../runtime/call/mod.ts";
import { checkTrunk, trunksFeature } from "../../runtime/features/trunks/mod.ts";
import { createApp } from "../../web/mod.ts";
import { encodeWav, makeTestSignal } from "../_harness/mod.ts";

Deno.test("E911 location announcements: upload checks, and the front desk hears it without TTS", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-e911-ann-" });
  const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
  const played: PlaySource[] = [];
  const outcomes: { outcome: string; spoken: string }[] = [];
  const noTts = () => Promise.reject(new Error("no text to speech (apt install libflite1)"));
  try {
    const t = trunksFeature({
      db: storage.db,
      secrets: createSecretBox(dataDir),
      settings: storage.settings,
      clock: realClock,
      log: nullLogger,
      activeCalls: () => 0,
      isExtension: (n) => n === "201",
      boxAddress: "127.0.0.1",
      announcementsDir: `${dataDir}/prompts/e911`,
      frontDesk: { speak: noTts, prompt: noTts, onOutcome: (o) => outcomes.push(o) },
    });
    const app = createApp({
      storage,
      live: { calls: () => [], onChange: () => () => {} },
      health: () => ({ ok: true, listeners: { sip: true } }),
      boxInfo: () => ({ addresses: ["127.0.0.1"], sipPort: 5060, httpPort: 80, tftpPort: 69 }),
      logs: () => [],
      features: [t.feature],
    });
    await app.request("/api/setup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "admin-password-1" }),
    });
    const login = await app.request("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "admin-password-1" }),
    });
    const { token } = await login.json();
    const req = async (method: string, path: string, body?: BodyInit, type = "application/json") => {
      const res = await app.request(path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": type },
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
    };
    const path = "/api/e911/locations/extension/201/announcement";
    const wav = new Uint8Array(encodeWav(makeTestSignal({ sampleRate: 44100, channels: 2, seconds: 2 })));
    let r = await req("PUT", path, wav, "audio/wav");
    eq(r.status, 404, "no location yet");
    match(r.body.error, /no location for extension 201/);
    eq(
      (await req("PUT", "/api/e911/locations/extension/201", JSON.stringify({ address: "100 Main St" })))
        .status,
      200,
    );
    r = await req("PUT", path, wav, "audio/mpeg");
    eq(r.status, 415);
    match(r.body.error, /WAV file/);
    r = await req("PUT", path, new Uint8Array([1, 2, 3, 4]), "audio/wav");
    eq(r.status, 400);
    match(r.body.error, /not a usable WAV/);
    r = await req("PUT", "/api/e911/locations/room/201/announcement", wav, "audio/wav");
    eq(r.status, 404);
    r = await req("PUT", path, wav, "audio/wav");
    eq(r.status, 200, JSON.stringify(r.body));
    eq(r.body.durationMs, 2000);
    const stored = readWav(Deno.readFileSync(`${dataDir}/prompts/e911/extension-201.wav`));
    eq([stored.sampleRate, stored.channels, stored.samples.length], [16000, 1, 32000]);
    ok(JSON.stringify(storage.audit.list({})).includes("e911.announcement"), "audited");

    // An emergency call: the front desk (a fake call engine) answers and hears the recording.
    let answered!: () => void;
    const over = new Promise<void>((resolve) => (answered = resolve));
    const calls = {
      originate: () =>
        Promise.resolve({
          answered: Promise.resolve({ outcome: "answered" }),
          ended: new Promise(() => {}),
          play: (s: PlaySource) => (played.push(s), Promise.resolve()),
          hangup: () => answered(),
        } as unknown as OriginatedLeg),
    } as unknown as Calls;
    t.feature.useCalls!(calls);
    t.service.setE911({ ...t.service.e911(), frontDesk: "202" });
    t.service.store.putTrunk(
      checkTrunk({ kind: "peer", host: "127.0.0.1", addresses: ["127.0.0.9"] }, "c").trunk,
      undefined,
    );
    const d = await t.service.prepare({
      trunk: "c",
      number: "911",
      route: "emergency",
      caller: "201",
      callId: "e1",
      dialled: "9911",
    });
    ok(d.ok);
    await over;
    const pcm = played.filter((p) => "pcm" in p) as { pcm: Int16Array; sampleRate: number }[];
    eq(pcm.length, 3, "the recording, three times");
    eq([pcm[0]!.sampleRate, pcm[0]!.pcm.length], [16000, 32000]);
    eq(outcomes[0]!.spoken, "the location's recording");

    eq((await req("DELETE", path)).status, 204);
    eq((await req("DELETE", path)).status, 404);
  } finally {
    storage.close();
    Deno.removeSync(dataDir, { recursive: true });
  }
});
