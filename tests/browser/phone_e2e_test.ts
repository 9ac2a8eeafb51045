/**
 * The browser phone with a real browser and a real phone: Chromium (playwright-core, a WAV as its
 * fake microphone) signs in as a user, registers the /phone page over wss:// (JsSIP served by the
 * box) and calls a baresip phone through the box: WebRTC (ICE-lite, DTLS-SRTP, rtcp-mux, BUNDLE)
 * on the browser side, plain RTP on the phone's. Audio is checked both ways by correlation; hold
 * and DTMF are sent from the page.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import {
  correlate,
  hasBinary,
  makeTestWav,
  readWav,
  startBaresip,
  toMono,
  writeWav,
} from "../_harness/mod.ts";
import { defaultSignalFor } from "../_harness/baresip.ts";
import { EXT, startPbx, withLogs } from "../sip/_setup.ts";
import { CHROMIUM, hasChromium } from "./_browser.ts";

/** Float samples at `rate` (44.1 or 48 kHz) to 8 kHz PCM16: the mean over each 1/8000 s window. */
function to8k(samples: number[], rate: number): Int16Array {
  const ratio = rate / 8000;
  const out = new Int16Array(Math.floor(samples.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const from = Math.floor(i * ratio);
    const to = Math.max(from + 1, Math.floor((i + 1) * ratio));
    let acc = 0;
    for (let k = from; k < to; k++) acc += samples[k] ?? 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round((acc / (to - from)) * 32767)));
  }
  return out;
}

for (
  const c of [{ phone: "PCMU", label: "narrowband (PCMU phone)" }, {
    phone: "G722",
    label: "wideband (G.722 phone)",
  }, {
    phone: "PCMU",
    opusOnly: true,
    label: "the browser limited to Opus (48 kHz) and a PCMU (8 kHz) phone: the box transcodes",
  }]
) {
  Deno.test({
    name:
      `browser phone (Chromium, WebRTC) calls a baresip phone through the box, ${c.label}: audio both ways, ` +
      `hold and DTMF from the page${
        c.label.startsWith("narrowband") ? "; a call to the browser answered on the page" : ""
      }`,
    ignore: !hasChromium() || !hasBinary("baresip"),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const pbx = await startPbx();
      const dir = await Deno.makeTempDir({ prefix: "phone-e2e-" });
      const mic = `${dir}/mic.wav`;
      // The browser's microphone: 201's falling chirp at 16 kHz (Chrome resamples it to 48 kHz).
      const micPcm = await makeTestWav(mic, {
        ...defaultSignalFor("201"),
        sampleRate: 16000,
        channels: 1,
        seconds: 30,
      });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--no-sandbox",
          "--headless",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--use-fake-ui-for-media-stream",
          "--use-fake-device-for-media-stream",
          `--use-file-for-fake-audio-capture=${mic}`,
          "--autoplay-policy=no-user-gesture-required",
          "--allow-loopback-in-peer-connection",
        ],
      });
      try {
        await withLogs(pbx, async () => {
          assert.ok(pbx.app.httpsUrl !== null, "HTTPS is on");
          await pbx.api.post("/api/users", {
            username: "alice",
            role: "user",
            extension: "201",
            password: "alice-password",
          });
          await using b = await startBaresip({
            user: "202",
            password: EXT["202"],
            sipPort: pbx.app.sipPort,
            codecs: [c.phone],
          });
          await b.registered();
          const context = await browser.newContext({
            ignoreHTTPSErrors: true,
            viewport: { width: 390, height: 844 },
          });
          context.setDefaultTimeout(20_000);
          const page = await context.newPage();
          const errors: string[] = [];
          page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
          page.on("pageerror", (e) => void errors.push(`pageerror: ${e.message}`));
          const base = pbx.app.httpsUrl!;
          await page.goto(`${base}/login`);
          await page.getByLabel("User name").fill("alice");
          await page.getByLabel("Password").fill("alice-password");
          await page.getByRole("button", { name: "Log in" }).click();
          await page.waitForURL(`${base}/me`);
          await page.goto(`${base}/phone`);
          await page.getByLabel("SIP password of your extension").fill(EXT["201"]);
          await page.getByRole("button", { name: "Register" }).click();
          await page.getByText("Registered as 201").waitFor().catch(async (e) => {
            const st = await page.locator("#ph-status").textContent();
            throw new Error(`${(e as Error).message}\nstatus: ${st}\nconsole: ${errors.join("\n")}`);
          });
          // Phone width: the dial pad fits without horizontal scrolling.
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
          assert.ok(overflow <= 0, `page wider than the phone screen by ${overflow}px`);
          for (const k of ["2", "0", "2"]) await page.locator(`#ph-pad button[data-key="${k}"]`).click();
          assert.equal(await page.locator("#ph-number").inputValue(), "202");
          if ("opusOnly" in c) {
            // Only Opus (and telephone-event) in the browser's offer: the box must transcode to 8 kHz.
            await page.evaluate(() => {
              const orig = RTCPeerConnection.prototype.createOffer;
              RTCPeerConnection.prototype.createOffer = function (
                this: RTCPeerConnection,
                ...args: unknown[]
              ) {
                const caps = RTCRtpReceiver.getCapabilities("audio")!.codecs.filter((k) =>
                  /opus|telephone-event/i.test(k.mimeType)
                );
                for (const t of this.getTransceivers()) t.setCodecPreferences(caps);
                return (orig as (...a: unknown[]) => Promise<RTCSessionDescriptionInit>).apply(this, args);
              } as typeof orig;
            });
          }
          await page.getByRole("button", { name: "Call", exact: true }).click();
          await b.waitForEvent("CALL_ESTABLISHED", 20_000).catch(async (e) => {
            const st = await page.locator("#ph-call-state").textContent();
            const micText = await page.locator("#ph-mic").textContent();
            throw new Error(
              `${(e as Error).message.slice(0, 200)}\ncall: ${st}\nmic: ${micText}\nconsole: ${
                errors.join("\n")
              }`,
            );
          });
          await page.getByText("In call with 202").waitFor();
          await pbx.app.waitForLog(/DTLS-SRTP on leg=\S+ suite=\S+/, 10_000);
          if ("opusOnly" in c) await pbx.app.waitForLog(/transcoding .*a=opus\/48000 b=PCMU\/8000/, 5000);
          // What the browser hears, captured from the remote stream for 4 s.
          const heard = await page.evaluate(async () => {
            const g = globalThis as unknown as { phoneRemoteStream?: MediaStream };
            for (let i = 0; i < 50 && g.phoneRemoteStream === undefined; i++) {
              await new Promise((r) => setTimeout(r, 100));
            }
            const ctx = new AudioContext();
            const src = ctx.createMediaStreamSource(g.phoneRemoteStream!);
            const proc = ctx.createScriptProcessor(16384, 1, 1);
            const out: number[] = [];
            proc.onaudioprocess = (e) => {
              const d = e.inputBuffer.getChannelData(0);
              for (let i = 0; i < d.length; i++) out.push(d[i]!);
            };
            src.connect(proc);
            proc.connect(ctx.destination);
            await new Promise((r) => setTimeout(r, 4000));
            proc.disconnect();
            await ctx.close();
            return { samples: out, rate: ctx.sampleRate };
          });
          // DTMF from the dial pad during the call reaches the phone.
          await page.locator('#ph-pad button[data-key="5"]').click();
          await b.waitForEvent("CALL_DTMF_START", 10_000);
          // Hold and resume from the page: the box sees both (music on hold in between).
          await page.getByRole("button", { name: "Hold" }).click();
          await pbx.app.waitForLog(/call on hold/, 10_000);
          await page.getByRole("button", { name: "Resume" }).click();
          await pbx.app.waitForLog(/call resumed/, 10_000);
          await page.getByRole("button", { name: "Hang up" }).click();
          await b.waitForEvent("CALL_CLOSED", 10_000);
          const incoming = c.label.startsWith("narrowband");
          if (incoming) {
            // A call to the browser: the box offers WebRTC (DTLS-SRTP, ICE-lite) to the WSS binding.
            await b.dial(`sip:201@127.0.0.1:${pbx.app.sipPort}`);
            await page.getByText("Incoming call from").waitFor();
            await page.getByRole("button", { name: "Answer" }).click();
            await page.getByText("In call with 202").waitFor();
            await pbx.app.waitForLog(/DTLS-SRTP on leg=\S+ suite[\s\S]*DTLS-SRTP on leg=\S+ suite/, 10_000);
            await new Promise((r) => setTimeout(r, 3000));
            await page.getByRole("button", { name: "Hang up" }).click();
            for (let i = 0; i < 100 && b.events().filter((e) => e.type === "CALL_CLOSED").length < 2; i++) {
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          await b.stop();

          const bHeard = toMono(await readWav((await b.recordings()).received[0]!));
          const bSent = toMono(await readWav((await b.recordings()).sent[0]!));
          const phoneRate = c.phone === "G722" ? 16000 : 8000;
          const mic8k = phoneRate === 16000 ? micPcm.samples : micPcm.samples.filter((_, i) => i % 2 === 0);
          // A whole second of the browser's signal in what the phone heard; with the box transcoding
          // (its jitter buffer conceals and re-times under load) the best 0.25 s piece counts.
          let toPhone = correlate(mic8k.subarray(phoneRate, 2 * phoneRate), bHeard).maxCorr;
          if ("opusOnly" in c) {
            for (let at = 0; at + phoneRate / 4 <= bHeard.length && at < 8 * phoneRate; at += phoneRate / 4) {
              toPhone = Math.max(toPhone, correlate(bHeard.subarray(at, at + phoneRate / 4), mic8k).maxCorr);
            }
          }
          const sent8k = phoneRate === 16000 ? bSent.filter((_, i) => i % 2 === 0) : bSent;
          const browserHeard = to8k(heard.samples, heard.rate);
          // The browser's jitter buffer (NetEq) stretches and shrinks its playout under load, so long
          // windows drift apart: 0.25 s pieces of what the browser heard are looked for in what the
          // phone sent (best one counts), and must not be the browser's own (falling) chirp.
          const pieces: number[] = [];
          const own: number[] = [];
          const mic8kAll = micPcm.samples.filter((_, i) => i % 2 === 0);
          for (let at = 0; at + 2000 <= browserHeard.length; at += 2000) {
            pieces.push(correlate(browserHeard.subarray(at, at + 2000), sent8k).maxCorr);
            own.push(correlate(browserHeard.subarray(at, at + 2000), mic8kAll.subarray(0, 40000)).maxCorr);
          }
          const toBrowser = Math.max(...pieces);
          if (Deno.env.get("PHONE_DEBUG") === "1") {
            await writeWav("/tmp/phone-heard.wav", { sampleRate: 8000, channels: 1, samples: browserHeard });
            await writeWav("/tmp/phone-bsent.wav", { sampleRate: 8000, channels: 1, samples: sent8k });
            console.log("rate", heard.rate, "n", heard.samples.length);
          }
          assert.ok(toPhone > 0.8, `the phone hears the browser: correlation ${toPhone.toFixed(3)}`);
          assert.ok(Math.max(...own) < 0.5, `the browser hears itself: ${own.map((p) => p.toFixed(2))}`);
          assert.ok(
            toBrowser > 0.8,
            `the browser hears the phone: correlation ${
              toBrowser.toFixed(3)
            } (${browserHeard.length} samples)`,
          );
          if (incoming) {
            const second = toMono(await readWav((await b.recordings()).received[1]!));
            let best = 0;
            for (let at = 0; at + 2000 <= second.length && at < 64000; at += 2000) {
              best = Math.max(best, correlate(second.subarray(at, at + 2000), mic8k).maxCorr);
            }
            assert.ok(
              best > 0.8,
              `on the call to the browser the phone hears it: correlation ${best.toFixed(3)}`,
            );
          }
          assert.deepEqual(errors.filter((e) => !e.startsWith("Failed to load resource")), []);
          await context.close();
        })();
      } finally {
        await browser.close();
        await pbx.app.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  });
}
