import assert from "node:assert/strict";
import { errorOf, webFixture } from "./_test_fixture.ts";
import { PromptLibrary, type Synthesizer } from "../runtime/media/prompts/mod.ts";
import { readWav, writeWav } from "../runtime/media/wav/mod.ts";

const tone: Synthesizer = (text) =>
  Promise.resolve({
    sampleRate: 16000,
    samples: Int16Array.from({ length: 100 * text.length }, (_, i) => Math.round(6000 * Math.sin(i / 5))),
  });

async function setup(maxUploadBytes = 200_000) {
  const dataDir = await Deno.makeTempDir({ prefix: "pbx-web-prompts-" });
  const prompts = new PromptLibrary(dataDir, { synthesize: tone, maxUploadBytes });
  const f = await webFixture({ deps: { prompts } });
  const token = await f.login();
  return {
    f,
    token,
    async [Symbol.asyncDispose]() {
      f[Symbol.dispose]();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

const wav = (rate: number, channels: number, frames: number) =>
  writeWav({ sampleRate: rate, channels }, new Int16Array(frames * channels).fill(3000)) as Uint8Array<
    ArrayBuffer
  >;

Deno.test("GET /api/prompts lists the catalogue; audio plays at 8 and 16 kHz; admin only", async () => {
  await using s = await setup();
  const { f, token } = s;
  let res = await f.req("/api/prompts", { token });
  assert.equal(res.status, 200);
  const list = (await res.json()) as { prompts: { id: string; overridden: boolean }[] };
  assert.ok(list.prompts.some((p) => p.id === "vm-leave-message" && !p.overridden));
  assert.ok(list.prompts.some((p) => p.id === "digit-7"));
  res = await f.req("/api/prompts/goodbye/audio?rate=8000", { token });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "audio/wav");
  assert.equal(readWav(new Uint8Array(await res.arrayBuffer())).sampleRate, 8000);
  res = await f.req("/api/prompts/goodbye/audio?download=1", { token });
  assert.match(res.headers.get("content-disposition") ?? "", /goodbye\.wav/);
  assert.equal(readWav(new Uint8Array(await res.arrayBuffer())).sampleRate, 16000);
  res = await f.req("/api/prompts/goodbye/audio?rate=44100", { token });
  assert.equal(res.status, 400);
  res = await f.req("/api/prompts/nope/audio", { token });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /no prompt "nope"/);
  res = await f.req("/api/prompts");
  assert.equal(res.status, 401);
  await f.addUser("bob", "201");
  const userToken = await f.login("bob", "user-password-1");
  res = await f.req("/api/prompts", { token: userToken });
  assert.equal(res.status, 403);
});

Deno.test("PUT /api/prompts/:id/override stores a recording; bad uploads get 400/413/415 with a message", async () => {
  await using s = await setup();
  const { f, token } = s;
  const put = (body: Uint8Array<ArrayBuffer>, type = "audio/wav", id = "vm-leave-message") =>
    f.req(`/api/prompts/${id}/override`, { method: "PUT", token, headers: { "content-type": type }, body });
  let res = await put(wav(22050, 2, 22050));
  assert.equal(res.status, 200, await res.clone().text());
  const info = (await res.json()) as {
    overridden: boolean;
    override: { sampleRate: number; durationMs: number };
  };
  assert.equal(info.overridden, true);
  assert.equal(info.override.sampleRate, 22050);
  assert.equal(info.override.durationMs, 1000);
  res = await f.req("/api/prompts/vm-leave-message/audio?rate=8000", { token });
  const played = readWav(new Uint8Array(await res.arrayBuffer()));
  assert.ok(Math.abs(played.samples.length - 8000) <= 2);

  res = await put(new TextEncoder().encode("ID3\x03 an mp3 file, not a wav") as Uint8Array<ArrayBuffer>);
  assert.equal(res.status, 415);
  assert.match(await errorOf(res), /not a WAV file/);
  res = await put(wav(8000, 1, 4000).slice(0, 3000));
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /bad WAV file: .*truncated/);
  res = await put(wav(8000, 1, 200_000));
  assert.equal(res.status, 413);
  assert.match(await errorOf(res), /larger than 200000 bytes/);
  res = await put(wav(8000, 1, 100), "text/plain");
  assert.equal(res.status, 415);
  assert.match(await errorOf(res), /must be audio\/wav/);
  res = await put(new Uint8Array(0));
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /empty/);
  res = await put(wav(8000, 1, 100), "audio/wav", "no-such");
  assert.equal(res.status, 404);

  res = await f.req("/api/prompts/vm-leave-message/override", { method: "DELETE", token });
  assert.equal(res.status, 204);
  res = await f.req("/api/prompts/vm-leave-message/override", { method: "DELETE", token });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /has no override/);
});

Deno.test("prompt routes answer 503 when the appliance has no prompt library", async () => {
  using f = await webFixture();
  const token = await f.login();
  const res = await f.req("/api/prompts", { token });
  assert.equal(res.status, 503);
  assert.match(await errorOf(res), /not available/);
});
