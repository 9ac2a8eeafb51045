/**
 * Conference rooms end to end through the real appliance with real peers: two baresip phones (one
 * G.722, so the room is wideband, one PCMU) and a sipp caller whose media is a Deno RTP socket
 * (PCMU) join one room. Each participant's known signal (distinct chirps) is heard by the others
 * and not by itself (windowed cross-correlation); muting one from the REST API removes it from
 * what the others hear. A wrong PIN is logged and retried, then the right one admits; a locked
 * room refuses entry; `*` from the phone toggles mute; a REST kick ends the call.
 */
import { ok as assert } from "node:assert";
import { type Appliance, hasBinary, readWav, startAppliance, startBaresip, toMono } from "../_harness/mod.ts";
import {
  APP_ENV,
  codecAvailable,
  decodeStream,
  openCodec,
  pw,
  resampleLinear,
  rtpCaller,
  setupExtensions,
  sleep,
  waitFor,
  windowedCorrelation,
} from "../media/_support.ts";

const HAVE_PEERS = hasBinary("baresip") && hasBinary("sipp");

interface Live {
  locked: boolean;
  participants: { id: string; caller: string; muted: boolean; codec: string }[];
}

async function participants(app: Appliance, room: string): Promise<Live> {
  return await (await app.adminApi()).get<Live>(`/api/conference/rooms/${room}/participants`);
}

async function waitForCount(app: Appliance, room: string, n: number, timeoutMs = 20_000): Promise<Live> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const live = await participants(app, room);
    if (live.participants.length === n) return live;
    if (Date.now() > end) throw new Error(`room ${room} has ${live.participants.length}, not ${n}`);
    await sleep(100);
  }
}

/**
 * Noise repeating every `periodSec` (seeded): unlike the phones' chirps it correlates with nothing
 * but itself, and the period lets a window sent before someone joined be found later.
 */
function periodicNoise(rate: number, seconds: number, periodSec: number): Int16Array {
  const period = new Int16Array(Math.round(rate * periodSec));
  let x = 12345;
  for (let i = 0; i < period.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    period[i] = ((x >>> 16) & 0x7fff) - 0x4000; // about as loud as the chirps
  }
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = period[i % period.length]!;
  return out;
}

const at8k = async (path: string) => {
  const w = await readWav(path);
  return resampleLinear(toMono(w), w.sampleRate, 8000);
};

Deno.test({
  name:
    "conference: baresip G.722 + baresip PCMU + sipp/RTP PCMU in one room; each hears the others, not itself; REST mute removes one",
  ignore: !HAVE_PEERS || !codecAvailable("G722", 8000),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002", "1003"]);
    const admin = await app.adminApi();
    await admin.put("/api/conference/rooms/800", { name: "Weekly", announceCount: false });
    // A room on an extension's number is refused.
    const taken = await admin.request("PUT", "/api/conference/rooms/1001", {});
    assert(taken.status === 409, `room on an extension: ${taken.status}`);
    await using a = await startBaresip({ user: "1001", password: pw("1001"), codecs: ["G722/16000/1"] });
    await using b = await startBaresip({ user: "1002", password: pw("1002"), codecs: ["PCMU"] });
    await a.dial(`sip:800@127.0.0.1:${app.sipPort}`);
    await waitForCount(app, "800", 1);
    await b.dial(`sip:800@127.0.0.1:${app.sipPort}`);
    await waitForCount(app, "800", 2);
    await using c = await rtpCaller(app, {
      scenario: "uac_pcmu_rtp_peer_long.xml",
      user: "1003",
      service: "800",
    });
    const cSent = periodicNoise(8000, 13, 0.9);
    const codec = openCodec("PCMU", 8000);
    const streaming = c.peer.stream(() => ({ address: "127.0.0.1", port: c.boxPort }), codec, 0, cSent);
    const live = await waitForCount(app, "800", 3);
    assert(live.participants.some((p) => p.caller === "1001" && /G722/i.test(p.codec)), JSON.stringify(live));
    await sleep(4000); // everyone talks at once
    const beforeMute = c.peer.received.length;
    const bId = live.participants.find((p) => p.caller === "1002")!.id;
    await admin.post(`/api/conference/rooms/800/participants/${bId}/mute`, { muted: true });
    assert((await participants(app, "800")).participants.find((p) => p.id === bId)!.muted);
    const afterMute = c.peer.received.length;
    await sleep(3500);
    const end = c.peer.received.length;
    await a.hangup();
    await b.hangup();
    await a.stop();
    await b.stop();
    await streaming;
    codec.close();

    const ra = await a.recordings();
    const rb = await b.recordings();
    const sent = { a: await at8k(ra.sent[0]!), b: await at8k(rb.sent[0]!), c: cSent };
    const heardA = await at8k(ra.received[0]!);
    const heardB = await at8k(rb.received[0]!);
    const dec = openCodec("PCMU", 8000);
    const heardC = decodeStream(c.peer.received.slice(0, beforeMute), 0, dec);
    const heardCMuted = decodeStream(c.peer.received.slice(afterMute + 25, end), 0, dec);
    dec.close();
    const corr = (s: Int16Array, h: Int16Array) => windowedCorrelation(s, h, 8000, [0.3, 0.9, 1.5, 2.1, 2.7]);
    const m = {
      aHearsB: corr(sent.b, heardA),
      aHearsC: corr(sent.c, heardA),
      aHearsA: corr(sent.a, heardA),
      bHearsA: corr(sent.a, heardB),
      bHearsC: corr(sent.c, heardB),
      bHearsB: corr(sent.b, heardB),
      cHearsA: corr(sent.a, heardC),
      cHearsB: corr(sent.b, heardC),
      cHearsC: corr(sent.c, heardC),
      cMutedHearsA: corr(sent.a, heardCMuted),
      cMutedHearsB: corr(sent.b, heardCMuted),
    };
    console.log("conference correlations", m);
    for (
      const k of ["aHearsB", "aHearsC", "bHearsA", "bHearsC", "cHearsA", "cHearsB", "cMutedHearsA"] as const
    ) {
      assert(m[k] > 0.35, `${k} ${m[k].toFixed(2)} (all: ${JSON.stringify(m)})`);
    }
    for (const k of ["aHearsA", "bHearsB", "cHearsC", "cMutedHearsB"] as const) {
      assert(m[k] < 0.25, `${k} ${m[k].toFixed(2)} should be low (all: ${JSON.stringify(m)})`);
    }
    assert(/conference participant muted/.test(app.logs()), "the mute is logged");
  },
});

Deno.test({
  name:
    "conference: a wrong PIN is logged and retried, the right PIN admits; a locked room refuses entry; * mutes; REST kick",
  ignore: !HAVE_PEERS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002"]);
    const admin = await app.adminApi();
    await admin.put("/api/conference/rooms/801", { pin: "4321", announceCount: false });
    await using a = await startBaresip({ user: "1001", password: pw("1001"), codecs: ["PCMU"] });
    await a.dial(`sip:801@127.0.0.1:${app.sipPort}`);
    await a.waitForEvent("CALL_ESTABLISHED", 10_000);
    await sleep(1000);
    await a.sendDtmf("99#"); // over the PIN prompt: the digits stop it
    await waitFor(() => /conference: wrong PIN/.test(app.logs()), "the wrong PIN logged", 15_000);
    await sleep(500);
    await a.sendDtmf("4321#");
    await waitForCount(app, "801", 1, 20_000);
    // Lock: the next caller (the room has no moderator PIN) is refused with 403.
    await admin.post("/api/conference/rooms/801/lock", { locked: true });
    assert((await participants(app, "801")).locked);
    await using b = await startBaresip({ user: "1002", password: pw("1002"), codecs: ["PCMU"] });
    await b.dial(`sip:801@127.0.0.1:${app.sipPort}`);
    await b.waitForEvent("CALL_CLOSED", 10_000);
    await waitFor(() => /conference: room locked, caller refused/.test(app.logs()), "the refusal logged");
    assert((await participants(app, "801")).participants.length === 1, "the locked room still has one");
    const bad = await admin.request("POST", "/api/conference/rooms/801/lock", { locked: "yes" });
    assert(bad.status === 400, `bad lock body: ${bad.status}`);
    const none = await admin.request("POST", "/api/conference/rooms/801/participants/p999/mute", {
      muted: true,
    });
    assert(none.status === 404, `unknown participant: ${none.status}`);
    // From the phone: * toggles the caller's own mute.
    await a.sendDtmf("*");
    await waitFor(() => /conference participant muted room=801/.test(app.logs()), "DTMF mute", 10_000);
    assert((await participants(app, "801")).participants[0]!.muted, "muted by DTMF");
    await a.sendDtmf("*");
    await waitFor(() => /conference participant unmuted room=801/.test(app.logs()), "DTMF unmute", 10_000);
    // Kick from the REST API ends the phone's call.
    const id = (await participants(app, "801")).participants[0]!.id;
    await admin.post(`/api/conference/rooms/801/participants/${id}/kick`);
    await a.waitForEvent("CALL_CLOSED", 10_000);
    await waitForCount(app, "801", 0);
  },
});
