/**
 * Three-way calling through the real appliance: sipp 1001 calls sipp 1002 (an ordinary
 * phone-to-phone call, both media Deno RTP sockets), the admin merges that call into conference
 * room 800 (`POST /api/calls/:id/merge`), and sipp 1003 dials 800. Each party streams its own
 * noise; after the merge each of the three hears the other two and not itself (windowed
 * cross-correlation of what it received once all three were in). When 1001 hangs up, 1002 stays in
 * the room with 1003. Bad merges get clear 4xx answers.
 */
import { ok as assert } from "node:assert";
import { hasBinary, startAppliance } from "../_harness/mod.ts";
import { SIPP_SCENARIO_DIR } from "../_harness/sipp.ts";
import {
  APP_ENV,
  decodeStream,
  openCodec,
  type ReceivedRtp,
  rtpCallee,
  rtpCaller,
  setupExtensions,
  sleep,
  waitFor,
  windowedCorrelation,
} from "../media/_support.ts";

const HAVE_PEERS = hasBinary("sipp");

/** Noise repeating every `periodSec`, from `seed`: it correlates with nothing but itself. */
function periodicNoise(seed: number, rate: number, seconds: number, periodSec: number): Int16Array {
  const period = new Int16Array(Math.round(rate * periodSec));
  let x = seed;
  for (let i = 0; i < period.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0; // exact 32-bit LCG: seeds give distinct noise
    period[i] = ((x >>> 16) & 0x3fff) - 0x2000; // quiet enough that two summed do not clip
  }
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = period[i % period.length]!;
  return out;
}

interface Live {
  participants: { id: string; caller: string }[];
}

Deno.test({
  name: "merge: a sipp-to-sipp call merged into a room; both parties and a third caller hear each other",
  ignore: !HAVE_PEERS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002", "1003"]);
    const admin = await app.adminApi();
    await admin.put("/api/conference/rooms/800", { name: "Merge", announceCount: false, tones: false });
    const dir = await Deno.makeTempDir({ prefix: "merge-e2e-" });
    try {
      // The same caller as uac_pcmu_rtp_peer_long.xml, holding the call 20 s (1001) or 40 s (1003).
      const base = await Deno.readTextFile(`${SIPP_SCENARIO_DIR}uac_pcmu_rtp_peer_long.xml`);
      assert(base.includes('<pause milliseconds="14000" />'));
      const holding = async (ms: number) => {
        const path = `${dir}/uac_${ms}.xml`;
        await Deno.writeTextFile(
          path,
          base.replace('<pause milliseconds="14000" />', `<pause milliseconds="${ms}" />`),
        );
        return path;
      };
      const codec = openCodec("PCMU", 8000);
      // Closed last, after every peer (whose streams encode with it) is gone.
      await using _codec = { [Symbol.asyncDispose]: () => Promise.resolve(codec.close()) };
      await using b = await rtpCallee(app, "1002", ["0 PCMU/8000"]);
      await using a = await rtpCaller(app, {
        scenario: await holding(20_000),
        user: "1001",
        service: "1002",
      });
      const sent = {
        a: periodicNoise(11, 8000, 30, 0.9),
        b: periodicNoise(22222, 8000, 30, 0.9),
        c: periodicNoise(3333333, 8000, 30, 0.9),
      };
      const streams = [
        a.peer.stream(() => ({ address: "127.0.0.1", port: a.boxPort }), codec, 0, sent.a),
        b.peer.stream(() => b.peer.received[0]?.from ?? null, codec, 0, sent.b),
      ];
      // The ordinary call is up: its id from the live calls.
      let callId = "";
      await waitFor(() => b.peer.received.length > 0, "the callee hears the caller", 10_000);
      for (let i = 0; i < 100 && callId === ""; i++) {
        const { items } = await admin.get<{ items: { id: string; caller: string; state: string }[] }>(
          "/api/calls",
        );
        callId = items.find((c) => c.caller === "1001" && c.state === "answered")?.id ?? "";
        if (callId === "") await sleep(100);
      }
      assert(callId !== "", "the call 1001 -> 1002 is listed as answered");

      // Refused merges: no room, unknown room, unknown call.
      const noRoom = await admin.request("POST", `/api/calls/${encodeURIComponent(callId)}/merge`, {});
      assert(noRoom.status === 400, `no room: ${noRoom.status}`);
      const badRoom = await admin.request("POST", `/api/calls/${encodeURIComponent(callId)}/merge`, {
        room: "899",
      });
      assert(badRoom.status === 404, `unknown room: ${badRoom.status}`);
      const badCall = await admin.request("POST", "/api/calls/nope/merge", { room: "800" });
      assert(badCall.status === 404, `unknown call: ${badCall.status} ${JSON.stringify(badCall.body)}`);
      assert(/conference: merge refused/.test(app.logs()), "the refusal is logged");

      const merged = await admin.post<{ merged: string[]; participants: { caller: string }[] }>(
        `/api/calls/${encodeURIComponent(callId)}/merge`,
        { room: "800" },
      );
      assert(JSON.stringify(merged.merged) === JSON.stringify(["1001", "1002"]), JSON.stringify(merged));
      assert(merged.participants.length === 2, JSON.stringify(merged));
      const again = await admin.request("POST", `/api/calls/${encodeURIComponent(callId)}/merge`, {
        room: "800",
      });
      assert(again.status === 404, `a merged call is no longer a phone-to-phone call: ${again.status}`);

      await using c = await rtpCaller(app, { scenario: await holding(40_000), user: "1003", service: "800" });
      streams.push(c.peer.stream(() => ({ address: "127.0.0.1", port: c.boxPort }), codec, 0, sent.c));
      await waitFor(
        () => /conference joined room=800 caller=1003/.test(app.logs()),
        "1003 in the room",
        20_000,
      );
      const from = { a: a.peer.received.length, b: b.peer.received.length, c: c.peer.received.length };
      await sleep(3500); // all three talk at once
      const heard = (r: ReceivedRtp[], start: number) => {
        const dec = openCodec("PCMU", 8000);
        const pcm = decodeStream(r.slice(start + 25), 0, dec);
        dec.close();
        return pcm;
      };
      const h = {
        a: heard(a.peer.received, from.a),
        b: heard(b.peer.received, from.b),
        c: heard(c.peer.received, from.c),
      };
      const corr = (s: Int16Array, x: Int16Array) => windowedCorrelation(s, x, 8000, [0.1, 0.3, 0.5]);
      const m = {
        aHearsB: corr(sent.b, h.a),
        aHearsC: corr(sent.c, h.a),
        bHearsA: corr(sent.a, h.b),
        bHearsC: corr(sent.c, h.b),
        cHearsA: corr(sent.a, h.c),
        cHearsB: corr(sent.b, h.c),
        aHearsA: corr(sent.a, h.a),
        bHearsB: corr(sent.b, h.b),
        cHearsC: corr(sent.c, h.c),
      };
      console.log("merge correlations", m);
      for (const k of ["aHearsB", "aHearsC", "bHearsA", "bHearsC", "cHearsA", "cHearsB"] as const) {
        assert(m[k] > 0.35, `${k} ${m[k].toFixed(2)} (all: ${JSON.stringify(m)})`);
      }
      for (const k of ["aHearsA", "bHearsB", "cHearsC"] as const) {
        assert(m[k] < 0.25, `${k} ${m[k].toFixed(2)} should be low (all: ${JSON.stringify(m)})`);
      }

      // 1001 hangs up (its scenario's BYE): 1002 stays in the room with 1003.
      await waitFor(() => /conference left room=800 caller=1001/.test(app.logs()), "1001 leaves", 30_000);
      await sleep(500);
      const live = await admin.get<Live>("/api/conference/rooms/800/participants");
      assert(
        JSON.stringify(live.participants.map((p) => p.caller).sort()) === JSON.stringify(["1002", "1003"]),
        `after 1001 left: ${JSON.stringify(live)}`,
      );
      const cdr = await admin.get<{ items: { linkedId?: string; reason?: string }[] }>("/api/cdr?limit=50");
      assert(
        cdr.items.some((r) => r.linkedId === callId && r.reason === "handed over as legs"),
        `the call's record says it was handed over: ${JSON.stringify(cdr.items).slice(0, 800)}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
