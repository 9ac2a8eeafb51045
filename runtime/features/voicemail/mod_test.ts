import { deepStrictEqual as eq, ok } from "node:assert";
import { Hono } from "hono";
import { VirtualClock } from "../../clock/mod.ts";
import { createLogger } from "../../log/mod.ts";
import type { FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import { fakeLeg } from "../../../tests/voicemail/_fake_leg.ts";
import { tempStorage } from "../../storage/_testing.ts";
import { writeWav } from "../../media/wav/mod.ts";
import { isSilent, voicemailFeature, withVoicemail } from "./mod.ts";

const log = createLogger("test", { level: "error", sink: () => {} });

function tone(ms: number, rate = 8000, amp = 8000): Int16Array {
  const s = new Int16Array(Math.round(ms * rate / 1000));
  for (let i = 0; i < s.length; i++) s[i] = Math.round(amp * Math.sin(2 * Math.PI * 440 * i / rate));
  return s;
}

function setup(
  options: { maxPinFailures?: number; transcribe?: (s: Int16Array) => Promise<string | undefined> } = {},
) {
  const storage = tempStorage();
  const clock = new VirtualClock();
  const mwi: [string, { newMessages: number; oldMessages: number }][] = [];
  const mails: { to: string | string[]; subject: string; text: string; attachments?: { path: string }[] }[] =
    [];
  const said: string[] = [];
  const prompts = {
    get: (id: string) => (said.push(id), Promise.resolve({ rate16: new Int16Array(160) })),
    say: (text: string) => (said.push(text), Promise.resolve({ rate16: new Int16Array(160) })),
  };
  const vm = voicemailFeature({
    db: storage.db,
    dataDir: storage.dataDir,
    clock,
    exists: (n) => ["201", "202"].includes(n),
    prompts,
    mwi: (m, c) => void mwi.push([m, c]),
    mail: { enqueue: (m) => (mails.push(m as never), mails.length) },
    log,
    pbkdf2Iterations: 1000,
    lockoutMs: 60_000,
    ...options,
  });
  const app = (name: string) => vm.applications!.find((a) => a.name === name)!;
  return { storage, clock, vm, mwi, mails, said, app, dispose: () => storage.dispose() };
}

Deno.test("store: mailboxes exist for extensions only; PIN lockout after the limit, lifted by time", async () => {
  const t = setup();
  try {
    const s = t.vm.store;
    eq(s.mailbox("999"), undefined);
    eq(s.mailbox("../x"), undefined);
    eq(s.mailbox("201")?.enabled, true);
    eq(s.mailbox("201")?.pinSet, false);
    eq((await s.checkPin("201", "1234")).ok, false, "no PIN set: refused");
    await s.setPin("201", "1234");
    eq(await s.checkPin("201", "1234"), { ok: true });
    eq(await s.checkPin("201", "0000"), { ok: false, locked: false, remaining: 2, lockedUntil: null });
    eq(await s.checkPin("201", "0000"), { ok: false, locked: false, remaining: 1, lockedUntil: null });
    const third = await s.checkPin("201", "0000");
    eq([third.ok, third.ok ? 0 : third.locked], [false, true]);
    eq((await s.checkPin("201", "1234")).ok, false, "locked: even the right PIN is refused");
    t.clock.advance(60_001);
    eq(await s.checkPin("201", "1234"), { ok: true }, "the lockout ran out");
    let threw = "";
    await s.setPin("201", "12").catch((e) => (threw = e.message));
    ok(threw.includes("4 to 10 digits"));
  } finally {
    t.dispose();
  }
});

Deno.test("deposit: a message is stored, MWI counts set, email queued with the WAV", async () => {
  const t = setup();
  try {
    t.vm.store.update("201", { email: "u201@example.com" });
    const { leg, played, state } = fakeLeg({ recording: tone(2000), hangupOnRecord: true });
    await t.app("voicemail-deposit").run(leg, { mailbox: "201", reason: "noAnswer" });
    eq(state.answered, true);
    ok(played.includes("tone:1000"), `beep before recording: ${played}`);
    ok(t.said.includes("vm-unavailable") && t.said.includes("vm-leave-message"), String(t.said));
    const msgs = t.vm.store.messages("201");
    eq(msgs.length, 1);
    eq([msgs[0]!.caller, msgs[0]!.durationMs, msgs[0]!.read], ["202", 2000, false]);
    eq(t.mwi, [["201", { newMessages: 1, oldMessages: 0 }]]);
    eq(t.mails.length, 1);
    eq(t.mails[0]!.to, "u201@example.com");
    ok(
      t.mails[0]!.text.includes("Caller: 202") && t.mails[0]!.text.includes("Duration: 0:02"),
      t.mails[0]!.text,
    );
    eq(t.mails[0]!.attachments![0]!.path, msgs[0]!.path);
  } finally {
    t.dispose();
  }
});

Deno.test("deposit: wideband messages are transcribed (stored, mailed); narrowband ones are not", async () => {
  const heard: number[] = [];
  const t = setup({ transcribe: (s) => (heard.push(s.length), Promise.resolve("call me back please")) });
  try {
    t.vm.store.update("201", { email: "u201@example.com" });
    await t.app("voicemail-deposit").run(
      fakeLeg({ recording: tone(1500, 16000), rate: 16000, hangupOnRecord: true }).leg,
      { mailbox: "201" },
    );
    await t.app("voicemail-deposit").run(fakeLeg({ recording: tone(1500), hangupOnRecord: true }).leg, {
      mailbox: "201",
    });
    for (let i = 0; i < 10 && t.mails.length < 2; i++) await new Promise((r) => setTimeout(r, 0));
    eq(heard, [24000]);
    eq(t.vm.store.messages("201").map((m) => m.transcript), ["call me back please", null]);
    ok(
      t.mails[0]!.text.includes("Transcript (automatic, may be wrong): call me back please"),
      t.mails[0]!.text,
    );
    ok(!t.mails[1]!.text.includes("Transcript"));
  } finally {
    t.dispose();
  }
});

Deno.test("a restart sets the stored counts again (MWI state is in memory) and removes cut-off .part recordings", async () => {
  const t = setup();
  try {
    await t.app("voicemail-deposit").run(fakeLeg({ recording: tone(1500) }).leg, { mailbox: "202" });
    // A recording a crash cut off: the recorder's .part file, never renamed.
    Deno.writeFileSync(`${t.vm.store.dir("202")}/msg-crashed.wav.part`, new Uint8Array(100));
    const again: [string, unknown][] = [];
    voicemailFeature({
      db: t.storage.db,
      dataDir: t.storage.dataDir,
      clock: t.clock,
      exists: () => true,
      prompts: { get: () => Promise.reject(), say: () => Promise.reject() },
      mwi: (m, c) => void again.push([m, c]),
      log,
    });
    eq(again, [["202", { newMessages: 1, oldMessages: 0 }]]);
    eq([...Deno.readDirSync(t.vm.store.dir("202"))].map((f) => f.name.endsWith(".part")), [false]);
  } finally {
    t.dispose();
  }
});

Deno.test("deposit: silence and too-short recordings leave no message and no file", async () => {
  const t = setup();
  try {
    for (const recording of [new Int16Array(8000 * 3), tone(500)]) {
      const { leg } = fakeLeg({ recording, hangupOnRecord: true });
      await t.app("voicemail-deposit").run(leg, { mailbox: "201" });
    }
    eq(t.vm.store.messages("201").length, 0);
    eq([...Deno.readDirSync(t.vm.store.dir("201"))].length, 0, "files removed");
    eq(t.mwi.length, 0);
    ok(isSilent(new Int16Array(800), 8000));
    ok(!isSilent(tone(100), 8000));
  } finally {
    t.dispose();
  }
});

Deno.test("deposit: a full mailbox tells the caller and records nothing; unknown and disabled boxes refuse", async () => {
  const t = setup();
  try {
    t.vm.store.update("201", { maxMessages: 1 });
    await t.app("voicemail-deposit").run(fakeLeg({ recording: tone(1500) }).leg, { mailbox: "201" });
    eq(t.vm.store.messages("201").length, 1);
    t.said.length = 0;
    const full = fakeLeg({ recording: tone(1500) });
    await t.app("voicemail-deposit").run(full.leg, { mailbox: "201" });
    eq(t.vm.store.messages("201").length, 1);
    ok(t.said.includes("vm-mailbox-full"), String(t.said));
    eq(full.state.hungUp, "mailbox full");
    ok(!full.played.includes("tone:1000"));
    const unknown = fakeLeg({});
    await t.app("voicemail-deposit").run(unknown.leg, { mailbox: "999" });
    eq(unknown.state.rejected, 404);
    t.vm.store.update("202", { enabled: false });
    const off = fakeLeg({});
    await t.app("voicemail-deposit").run(off.leg, { mailbox: "202" });
    eq(off.state.rejected, 480);
  } finally {
    t.dispose();
  }
});

Deno.test("retrieve: PIN, listen (envelope spoken, MWI recounted), delete, exit", async () => {
  const t = setup();
  try {
    await t.vm.store.setPin("202", "4321");
    await t.app("voicemail-deposit").run(fakeLeg({ caller: "201", recording: tone(1500) }).leg, {
      mailbox: "202",
    });
    t.mwi.length = 0;
    t.said.length = 0;
    // PIN, main menu 1 (listen), message menu 3 (delete), main menu * (exit).
    const { leg, played, state } = fakeLeg({ caller: "202", digits: ["4321", "1", "3", "*"] });
    await t.app("voicemail-retrieve").run(leg, { mode: "own" });
    ok(t.said.some((s) => s.startsWith("You have one new message")), String(t.said));
    ok(t.said.some((s) => s.startsWith("Message from two zero one, received")), String(t.said));
    ok(played.includes("file"), "the message was played");
    ok(t.said.includes("vm-message-deleted"));
    eq(t.mwi, [["202", { newMessages: 0, oldMessages: 1 }], ["202", { newMessages: 0, oldMessages: 0 }]]);
    eq(t.vm.store.messages("202").length, 0);
    eq(state.hungUp, "done");
  } finally {
    t.dispose();
  }
});

Deno.test("retrieve: 4 forwards a message to another mailbox (MWI there); a missing mailbox is refused", async () => {
  const t = setup();
  try {
    await t.vm.store.setPin("202", "4321");
    await t.app("voicemail-deposit").run(fakeLeg({ caller: "201", recording: tone(1500) }).leg, {
      mailbox: "202",
    });
    t.mwi.length = 0;
    // PIN, 1 listen, 4 forward to 201, # next (no more), then * exit.
    await t.app("voicemail-retrieve").run(fakeLeg({ digits: ["4321", "1", "4", "201", "*"] }).leg, {});
    const copied = t.vm.store.messages("201");
    eq(copied.map((m) => [m.caller, m.durationMs]), [["201", 1500]]);
    ok(copied[0]!.path !== t.vm.store.messages("202")[0]!.path);
    ok(t.mwi.some(([m, c]) => m === "201" && c.newMessages === 1), JSON.stringify(t.mwi));
    ok(t.said.includes("Message forwarded."));
    await t.app("voicemail-retrieve").run(fakeLeg({ digits: ["4321", "1", "4", "999", "*"] }).leg, {});
    ok(t.said.includes("That mailbox cannot take the message."));
  } finally {
    t.dispose();
  }
});

Deno.test("retrieve: 5 calls the caller back through the dialplan; a busy caller is said so", async () => {
  const t = setup();
  try {
    await t.vm.store.setPin("202", "4321");
    await t.app("voicemail-deposit").run(fakeLeg({ caller: "201", recording: tone(1500) }).leg, {
      mailbox: "202",
    });
    // PIN, 1 listen, 5 call back (busy), then # next (none left), * exit.
    const busy = fakeLeg({
      caller: "202",
      digits: ["4321", "1", "5", "*"],
      dials: [{ outcome: "busy", status: 486 }],
    });
    await t.app("voicemail-retrieve").run(busy.leg, { mode: "own" });
    eq(busy.dialled, ["201"]);
    ok(t.said.includes("vm-busy"), String(t.said));
    // Answered, and the listener hangs up in the call: retrieval ends there.
    const talk = fakeLeg({
      caller: "202",
      digits: ["4321", "1", "5"],
      dials: [{ outcome: "answered", number: "201", by: "caller" }],
    });
    await t.app("voicemail-retrieve").run(talk.leg, { mode: "own" });
    eq(talk.dialled, ["201"]);
  } finally {
    t.dispose();
  }
});

Deno.test("retrieve: another mailbox by number; wrong PINs lock it out after the limit", async () => {
  const t = setup({ maxPinFailures: 2 });
  try {
    await t.vm.store.setPin("201", "1111");
    const { leg, state } = fakeLeg({ caller: "202", digits: ["201", "9999", "201", "9999"] });
    await t.app("voicemail-retrieve").run(leg, { mode: "any" });
    eq(state.hungUp, "mailbox locked");
    ok(t.said.includes("vm-pin-wrong") && t.said.includes("vm-locked"), String(t.said));
    eq(t.vm.store.mailbox("201")!.lockedUntil! > 0, true);
    // The right PIN now is refused too, until an admin resets it.
    const again = fakeLeg({ caller: "202", digits: ["201", "1111"] });
    await t.app("voicemail-retrieve").run(again.leg, { mode: "any" });
    eq(again.state.hungUp, "mailbox locked");
  } finally {
    t.dispose();
  }
});

Deno.test("retrieve: main menu 2 records a greeting from the phone; silence is not kept", async () => {
  const t = setup();
  try {
    await t.vm.store.setPin("201", "5555");
    const { leg, played } = fakeLeg({
      caller: "201",
      digits: ["5555", "2", "2", "*"],
      recording: tone(1200),
    });
    await t.app("voicemail-retrieve").run(leg, {});
    ok(played.includes("tone:1000"));
    eq(t.vm.store.greeting("201", "busy")?.durationMs, 1200);
    ok(t.said.includes("Your greeting has been saved."), String(t.said));
    const quiet = fakeLeg({
      caller: "201",
      digits: ["5555", "2", "3", "*"],
      recording: new Int16Array(16000),
    });
    await t.app("voicemail-retrieve").run(quiet.leg, {});
    eq(t.vm.store.greeting("201", "name"), undefined);
    ok(t.said.includes("Nothing was recorded."));
  } finally {
    t.dispose();
  }
});

Deno.test("routing: then-voicemail continuations, feature codes and the deposit prefix", () => {
  const t = setup();
  try {
    const route = {
      steps: [{ destination: { kind: "extension" as const, number: "201" }, ringSeconds: 20 }],
    };
    eq(t.vm.routing!.extensionRoute!("201", route), route, "a mailbox never set up: route unchanged");
    eq(t.vm.store.configured("201"), undefined, "routing made no mailbox");
    t.vm.store.update("201", { email: null }); // set up (any saved setting)
    const r = t.vm.routing!.extensionRoute!("201", route);
    eq(r, withVoicemail("201", route));
    eq(r.steps.length, 2);
    eq(r.steps[0]!.on?.busy, {
      steps: [{
        destination: {
          kind: "application",
          name: "voicemail-deposit",
          args: { mailbox: "201", reason: "busy" },
        },
      }],
    });
    eq(r.steps[1]!.destination, {
      kind: "application",
      name: "voicemail-deposit",
      args: { mailbox: "201", reason: "unavailable" },
    });
    eq(withVoicemail("201", r), r, "applied once");
    t.vm.store.update("202", { enabled: false });
    eq(t.vm.routing!.extensionRoute!("202", route), route, "mailbox off: route unchanged");
    const own = t.vm.routing!.routeFor!({
      claim: { pattern: "*97", owner: { kind: "feature-code", id: "voicemail.own" } },
      dialled: "*97",
      suffix: "",
      stripped: "*97",
    });
    eq(own?.steps[0]?.destination, {
      kind: "application",
      name: "voicemail-retrieve",
      args: { mode: "own" },
    });
    const [claim] = t.vm.numbers!();
    eq(claim!.pattern, "_*99XX!");
    const dep = t.vm.routing!.routeFor!({
      claim: claim!,
      dialled: "*99201",
      suffix: "201",
      stripped: "*99201",
    });
    eq(dep?.steps[0]?.destination, {
      kind: "application",
      name: "voicemail-deposit",
      args: { mailbox: "201", reason: "direct" },
    });
  } finally {
    t.dispose();
  }
});

Deno.test("web: users see only their own mailbox; admins all; read/unread, audio, delete, bad uploads", async () => {
  const t = setup();
  try {
    await t.app("voicemail-deposit").run(fakeLeg({ caller: "201", recording: tone(1500) }).leg, {
      mailbox: "202",
    });
    const api = new Hono<FeatureWebEnv>();
    let user: FeatureWebEnv["Variables"]["user"] = { username: "u", role: "user", extension: "201" };
    api.use("*", async (c, next) => {
      c.set("user", user);
      await next();
    });
    class Fail extends Error {
      constructor(readonly status: number, message: string) {
        super(message);
      }
    }
    const kit: FeatureWebKit = {
      requireAdmin: async (_c, next) => await next(),
      fail: (status, message) => {
        throw new Fail(status, message);
      },
      readBody: async (c, max) => {
        const b = new Uint8Array(await c.req.arrayBuffer());
        if (b.length > max) throw new Fail(413, "too big");
        return b;
      },
      audit: () => {},
    };
    api.onError((e, c) =>
      e instanceof Fail ? c.json({ error: e.message }, e.status as 400) : c.json({ error: String(e) }, 500)
    );
    t.vm.web!.routes!(api, kit);
    const req = (path: string, init?: RequestInit) => api.request(path, init);
    eq(
      (await (await req("/voicemail/mailboxes")).json()).mailboxes.map((m: { mailbox: string }) => m.mailbox),
      [
        "201",
      ],
    );
    eq((await req("/voicemail/mailboxes/202/messages")).status, 403);
    const id = t.vm.store.messages("202")[0]!.id;
    eq((await req(`/voicemail/messages/${id}/audio`)).status, 403);
    eq((await req(`/voicemail/messages/${id}`, { method: "DELETE" })).status, 403);
    user = { username: "u2", role: "user", extension: "202" };
    const list = await (await req("/voicemail/mailboxes/202/messages")).json();
    eq([list.newMessages, list.messages.length, list.messages[0].caller, list.messages[0].path], [
      1,
      1,
      "201",
      undefined,
    ]);
    const audio = await req(`/voicemail/messages/${id}/audio`);
    eq([audio.status, audio.headers.get("content-type")], [200, "audio/wav"]);
    eq((await audio.arrayBuffer()).byteLength, 44 + 1500 * 16);
    const patch = await req(`/voicemail/messages/${id}`, {
      method: "PATCH",
      body: JSON.stringify({ read: true }),
    });
    eq((await patch.json()).read, true);
    eq(t.mwi.at(-1), ["202", { newMessages: 0, oldMessages: 1 }]);
    eq((await req(`/voicemail/messages/${id}`, { method: "PATCH", body: "[]" })).status, 400);
    eq((await req("/voicemail/mailboxes/202", { method: "PUT", body: '{"enabled":false}' })).status, 403);
    const bad = await req("/voicemail/mailboxes/202/greetings/busy", {
      method: "PUT",
      body: "ID3 not a wav",
    });
    eq(bad.status, 415);
    ok((await bad.json()).error.startsWith("not a usable WAV"));
    const good = await req("/voicemail/mailboxes/202/greetings/busy", {
      method: "PUT",
      body: writeWav({ sampleRate: 16000, channels: 2 }, tone(1000, 32000)) as Uint8Array<ArrayBuffer>,
    });
    eq((await good.json()).durationMs, 1000);
    ok(t.vm.store.greeting("202", "busy") !== undefined);
    eq((await req("/voicemail/mailboxes/202/pin", { method: "PUT", body: '{"pin":"12"}' })).status, 400);
    eq((await req("/voicemail/mailboxes/202/pin", { method: "PUT", body: '{"pin":"123456"}' })).status, 200);
    eq((await req(`/voicemail/messages/${id}`, { method: "DELETE" })).status, 204);
    eq(t.mwi.at(-1), ["202", { newMessages: 0, oldMessages: 0 }]);
    eq((await req(`/voicemail/messages/${id}/audio`)).status, 404);
    user = { username: "admin", role: "admin" };
    eq((await (await req("/voicemail/mailboxes")).json()).mailboxes.length, 2);
    const put = await req("/voicemail/mailboxes/201", {
      method: "PUT",
      body: '{"enabled":false,"maxMessages":5}',
    });
    eq([(await put.json()).enabled], [false]);
    eq((await req("/voicemail/mailboxes/999")).status, 404);
  } finally {
    t.dispose();
  }
});
