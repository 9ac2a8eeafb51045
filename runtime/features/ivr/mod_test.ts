import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { createLogger } from "../../log/mod.ts";
import { tempStorage } from "../../storage/_testing.ts";
import { fakeLeg } from "../../../tests/voicemail/_fake_leg.ts";
import { checkMenu, greetingFromWav, ivrFeature } from "./mod.ts";
import { writeWav } from "../../media/wav/mod.ts";

const log = createLogger("test", { level: "error", sink: () => {} });

function setup() {
  const storage = tempStorage();
  const said: string[] = [];
  const ran: [string, Record<string, unknown>][] = [];
  const prompts = {
    get: (id: string) => (said.push(id), Promise.resolve({ rate16: new Int16Array(160) })),
    say: (text: string) => (said.push(text), Promise.resolve({ rate16: new Int16Array(160) })),
  };
  const ivr = ivrFeature({
    db: storage.db,
    prompts,
    log,
    runApplication: (name, _leg, args) => (ran.push([name, args]), Promise.resolve()),
  });
  ivr.store.put(checkMenu({
    number: "500",
    name: "Main",
    greeting: "Press one for sales, two for the support menu.",
    options: {
      "1": { kind: "application", name: "voicemail-deposit", args: { mailbox: "201" } },
      "2": { kind: "menu", number: "501" },
      "9": { kind: "dial", number: "201" },
    },
    repeats: 1,
    final: { kind: "application", name: "voicemail-deposit", args: { mailbox: "202" } },
  }));
  ivr.store.put(checkMenu({
    number: "501",
    name: "Support",
    greeting: "Press one to leave a message.",
    options: { "1": { kind: "application", name: "voicemail-deposit", args: { mailbox: "203" } } },
  }));
  const app = ivr.applications![0]!;
  return { storage, ivr, said, ran, app, dispose: () => storage.dispose() };
}

Deno.test("ivr: a digit leads to its destination, another menu, or (dial) a logged hang-up", async () => {
  const t = setup();
  try {
    await t.app.run(fakeLeg({ digits: ["1"] }).leg, { menu: "500" });
    eq(t.ran, [["voicemail-deposit", { mailbox: "201" }]]);
    await t.app.run(fakeLeg({ digits: ["2", "1"] }).leg, { menu: "500" });
    eq(t.ran.at(-1), ["voicemail-deposit", { mailbox: "203" }]);
    ok(t.said.includes("Press one to leave a message."));
    // 9 dials 201 (the operator): it answers and the caller hangs up in the bridge.
    const dial = fakeLeg({ digits: ["9"], dials: [{ outcome: "answered", number: "201", by: "caller" }] });
    await t.app.run(dial.leg, { menu: "500" });
    ok(t.said.includes("transfer-hold"));
    eq(dial.dialled, ["201"]);
    eq(dial.state.hungUp, "", "the caller hung up in the bridge: nothing more from the ivr");
    const missing = fakeLeg({});
    await t.app.run(missing.leg, { menu: "599" });
    eq(missing.state.rejected, 404);
  } finally {
    t.dispose();
  }
});

Deno.test("ivr: a busy dial says so and returns to the menu; dial-by-extension dials what was typed", async () => {
  const t = setup();
  try {
    t.ivr.store.put(checkMenu({
      number: "502",
      name: "Directory",
      greeting: "Press one to dial an extension.",
      options: { "1": { kind: "extension" }, "9": { kind: "dial", number: "201" } },
      repeats: 0,
    }));
    const busy = fakeLeg({
      digits: ["9", "1", "203"],
      dials: [
        { outcome: "busy", status: 486 },
        { outcome: "answered", number: "203", by: "callee" },
      ],
    });
    await t.app.run(busy.leg, { menu: "502" });
    eq(busy.dialled, ["201", "203"]);
    ok(t.said.includes("vm-busy") && t.said.includes("menu-enter-extension"), String(t.said));
    eq(busy.state.hungUp, "ivr done", "after the callee hung up the ivr says goodbye");
    // Voicemail after no answer took the call: the ivr leaves.
    const vm = fakeLeg({ digits: ["9"], dials: [{ outcome: "handedOver", number: "201" }] });
    await t.app.run(vm.leg, { menu: "502" });
    eq(vm.state.hungUp, "");
    throws(
      () => checkMenu({ number: "5", name: "x", greeting: "g", options: { "1": { kind: "jump" } } }),
      /extension/,
    );
  } finally {
    t.dispose();
  }
});

Deno.test("ivr: timeout and invalid digits repeat the greeting, then the final destination", async () => {
  const t = setup();
  try {
    // "" is a timeout, "7" is not a choice; repeats: 1 means two rounds, then final.
    await t.app.run(fakeLeg({ digits: ["", "7"] }).leg, { menu: "500" });
    eq(t.said.filter((s) => s.startsWith("Press one for sales")).length, 2);
    ok(t.said.includes("menu-timeout") && t.said.includes("menu-invalid"), String(t.said));
    eq(t.ran, [["voicemail-deposit", { mailbox: "202" }]]);
  } finally {
    t.dispose();
  }
});

Deno.test("ivr: menus are checked, claim their numbers and route to the ivr application", () => {
  const t = setup();
  try {
    throws(() => checkMenu({ number: "5a", name: "x", greeting: "g" }), /number may hold only/);
    throws(
      () => checkMenu({ number: "5", name: "x", greeting: "g", options: { "12": { kind: "hangup" } } }),
      /not a digit/,
    );
    throws(
      () => checkMenu({ number: "5", name: "x", greeting: "g", options: { "1": { kind: "jump" } } }),
      /kind must be/,
    );
    throws(() => checkMenu({ number: "5", name: "x", greeting: "g", timeoutMs: 5 }), /timeoutMs must be/);
    eq(t.ivr.numbers!().map((c) => c.pattern), ["500", "501"]);
    const claim = t.ivr.numbers!()[0]!;
    eq(t.ivr.routing!.routeFor!({ claim, dialled: "500", suffix: "", stripped: "500" }), {
      steps: [{ destination: { kind: "application", name: "ivr", args: { menu: "500" } } }],
    });
  } finally {
    t.dispose();
  }
});

Deno.test("ivr: an uploaded greeting plays instead of the text; bad WAVs are refused with the reason", async () => {
  const storage = tempStorage();
  const dir = Deno.makeTempDirSync({ prefix: "pbx-ivr-greeting-" });
  try {
    const said: string[] = [];
    const prompts = {
      get: (id: string) => (said.push(id), Promise.resolve({ rate16: new Int16Array(160) })),
      say: (text: string) => (said.push(text), Promise.resolve({ rate16: new Int16Array(160) })),
    };
    const ivr = ivrFeature({ db: storage.db, prompts, log, greetingsDir: dir });
    ivr.store.put(checkMenu({
      number: "500",
      name: "Main",
      greeting: "Spoken text.",
      options: { "1": { kind: "hangup" } },
    }));
    // 22.05 kHz stereo in, 16 kHz mono stored.
    const g = greetingFromWav(
      writeWav({ sampleRate: 22050, channels: 2 }, new Int16Array(22050 * 2).fill(900)),
    );
    eq([g.sampleRate, g.channels, g.durationMs, g.samples.length], [22050, 2, 1000, 16000]);
    Deno.writeFileSync(`${dir}/500.wav`, writeWav({ sampleRate: 16000, channels: 1 }, g.samples));
    const f = fakeLeg({ digits: ["1"] });
    await ivr.applications![0]!.run(f.leg, { menu: "500" });
    ok(!said.includes("Spoken text."), `the text was not spoken: ${said.join(" | ")}`);
    ok(f.played.includes("pcm"));
    throws(() => greetingFromWav(new TextEncoder().encode("ID3 an mp3, not a wav")), /RIFF|WAV/);
    throws(
      () => greetingFromWav(writeWav({ sampleRate: 16000, channels: 1 }, new Int16Array(0))),
      /no audio/,
    );
  } finally {
    storage.dispose();
    Deno.removeSync(dir, { recursive: true });
  }
});
