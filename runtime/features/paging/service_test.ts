import assert from "node:assert/strict";
import { VirtualClock } from "../../clock/mod.ts";
import { readWav, writeWav } from "../../media/wav/mod.ts";
import { tempStorage } from "../../storage/_testing.ts";
import { parsePolycomPacket, POLYCOM_OP } from "./multicast.ts";
import { PagingService } from "./service.ts";
import type { AmpLine, DatagramSender, SpeakerDevice, SpeakerOpenHints, ZoneStatus } from "./types.ts";

/** A speaker device that records what each channel would play. */
class FakeDevice implements SpeakerDevice {
  readonly rate: number;
  readonly channels: number;
  error: string | null = null;
  readonly played: number[][];
  readonly events: string[] = [];
  readonly hints: SpeakerOpenHints;
  constructor(rate: number, channels: number, hints: SpeakerOpenHints) {
    this.rate = rate;
    this.channels = channels;
    this.hints = hints;
    this.played = Array.from({ length: channels }, () => []);
  }
  write(
    channels: readonly number[],
    samples: Int16Array,
    options: { hold?: boolean; tag?: number } = {},
  ): void {
    for (const c of channels) for (const s of samples) this.played[c]!.push(s);
    this.events.push(`write ${channels.join(",")} ${samples.length}`);
    if (options.tag !== undefined) this.hints.onWritten(options.tag, 1);
  }
  flush(channels: readonly number[]): void {
    this.events.push(`flush ${channels.join(",")}`);
  }
  end(channels: readonly number[]): Promise<void> {
    this.events.push(`end ${channels.join(",")}`);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}

function setup(
  options: {
    equalPriority?: "busy" | "wait";
    wallStart?: number;
    failDevice?: boolean;
    recordingDir?: string;
    /** openAmpLine throws this (a GPIO chip that is not there). */
    ampError?: string;
  } = {},
) {
  const clock = new VirtualClock(options.wallStart === undefined ? {} : { wallStart: options.wallStart });
  const storage = tempStorage({ clock });
  const devices: FakeDevice[] = [];
  const amps: { spec: string; at: number; on: boolean }[] = [];
  const packets: Uint8Array[] = [];
  const sender: DatagramSender = {
    send(p, address) {
      assert.equal(address, "127.0.0.1");
      packets.push(p.slice());
    },
    close() {},
  };
  const svc = new PagingService({
    store: storage.paging,
    clock,
    timeZone: "Europe/Berlin",
    agc: false,
    datagram: sender,
    polycomAlertCount: 3,
    polycomEndCount: 2,
    ...(options.equalPriority === undefined ? {} : { equalPriority: options.equalPriority }),
    ...(options.recordingDir === undefined ? {} : { recordingDir: options.recordingDir }),
    openSpeaker: (name, hints) => {
      if (options.failDevice) {
        return Promise.reject(new Error(`cannot open ALSA PCM "${name}": No such device`));
      }
      const d = new FakeDevice(8000, hints.channels, hints);
      devices.push(d);
      return Promise.resolve(d);
    },
    openAmpLine: (spec): AmpLine => {
      if (options.ampError !== undefined) throw new Error(options.ampError);
      return {
        set(on) {
          amps.push({ spec, at: clock.now(), on });
          return Promise.resolve();
        },
        close: () => Promise.resolve(),
      };
    },
    readFile: () =>
      Promise.resolve(writeWav({ sampleRate: 8000, channels: 1 }, new Int16Array(800).fill(777))),
  });
  storage.paging.createZone({
    number: "71",
    name: "Hall",
    alsaDevice: "dac",
    channels: [1],
    ampLine: "file:/amp1",
    leadMs: 200,
    tailMs: 500,
    preTone: "!1000/50",
    postTone: "!500/50",
  });
  storage.paging.createZone({ number: "72", name: "Yard", alsaDevice: "dac", channels: [2] });
  storage.paging.createGroup({ number: "79", name: "Both", zones: ["71", "72"] });
  storage.paging.createGroup({ number: "70", name: "All call", zones: ["*"] });
  const dispose = async () => {
    await svc.close();
    storage.dispose();
  };
  return { clock, storage, svc, devices, amps, packets, dispose };
}

const frame = (v: number, n = 160) => ({ samples: new Int16Array(n).fill(v), sampleRate: 8000 });

Deno.test("a page switches the amp on, waits the lead, plays pre-tone, audio, post-tone, then tail", async () => {
  const t = setup();
  try {
    const page = t.svc.startPage({ target: "71", origin: { extension: "201" } });
    assert.equal(page.state, "live");
    page.push(frame(1000));
    page.push(frame(2000));
    await flush();
    assert.deepEqual(t.amps, [{ spec: "file:/amp1", at: 0, on: true }]);
    assert.equal(t.devices[0]?.played[0]?.length ?? 0, 0, "no audio before the lead time");
    t.clock.advance(200);
    await flush();
    const ch0 = t.devices[0]!.played[0]!;
    assert.equal(ch0.length, 400 + 320); // 50 ms tone + two frames
    assert.notEqual(ch0[10], 0);
    assert.equal(ch0[400], 1000);
    assert.equal(ch0[560], 2000);
    assert.equal(t.devices[0]!.played[1]!.length, 0, "zone 72's channel stays silent");
    const result = page.end();
    await flush();
    assert.equal(ch0.length, 720 + 400); // post-tone
    t.clock.advance(499);
    await flush();
    assert.equal(t.amps.length, 1, "amp held during the tail");
    t.clock.advance(1);
    await flush();
    assert.deepEqual(t.amps[1], { spec: "file:/amp1", at: 500 + 200, on: false });
    assert.equal((await result).outcome, "completed");
    const [log] = t.storage.paging.log();
    assert.deepEqual([log?.origin, log?.targets, log?.priority, log?.outcome], [
      "201",
      ["71"],
      "page",
      "completed",
    ]);
  } finally {
    await t.dispose();
  }
});

Deno.test("an emergency page pre-empts a normal page on the shared zone only", async () => {
  const t = setup();
  try {
    const lost: string[] = [];
    const normal = t.svc.startPage({
      target: "79",
      origin: { extension: "201" },
      preTone: false,
      onPreempted: (z) => lost.push(...z),
    });
    t.clock.advance(200);
    await flush();
    normal.push(frame(100));
    const emergency = t.svc.startPage({
      target: "72",
      priority: "emergency",
      origin: { extension: "202" },
      preTone: false,
    });
    assert.equal(emergency.state, "live");
    assert.deepEqual(lost, ["72"]);
    await flush();
    const dev = t.devices[0]!;
    assert.ok(dev.events.includes("flush 1"), dev.events.join("|"));
    normal.push(frame(100));
    emergency.push(frame(9000));
    await flush();
    // Channel 2 (zone 72): the normal page's first frame, then only the emergency.
    assert.deepEqual(dev.played[1]!.slice(150, 170), [...Array(10).fill(100), ...Array(10).fill(9000)]);
    assert.equal(dev.played[1]!.length, 320);
    assert.equal(dev.played[0]!.length, 320, "zone 71 keeps the normal page");
    assert.deepEqual(t.svc.status().map((z) => [z.number, z.state, z.page?.priority]), [
      ["71", "paging", "page"],
      ["72", "paging", "emergency"],
    ]);
    // A new normal page on 72 is busy while the emergency runs.
    const busy = t.svc.startPage({ target: "72", origin: { extension: "203" } });
    assert.equal(busy.state, "rejected");
    assert.equal((await busy.done).outcome, "busy");
    assert.equal((await emergency.end()).outcome, "completed");
    assert.equal((await normal.end()).outcome, "completed");
    const single = t.svc.startPage({ target: "72", origin: { extension: "201" } });
    await flush();
    t.svc.startPage({ target: "70", priority: "emergency", origin: { label: "api:admin" } });
    assert.equal((await single.done).outcome, "preempted");
  } finally {
    await t.dispose();
  }
});

Deno.test("with equalPriority=wait an equal page waits and then gets the zone", async () => {
  const t = setup({ equalPriority: "wait" });
  try {
    const a = t.svc.startPage({ target: "72", origin: { extension: "201" }, preTone: false });
    const b = t.svc.startPage({ target: "72", origin: { extension: "202" }, preTone: false });
    assert.equal(b.state, "starting");
    b.push(frame(5)); // no zone yet: dropped
    await flush();
    await a.end();
    await flush();
    assert.equal(b.state, "live");
    b.push(frame(6));
    await flush();
    assert.equal(t.devices[0]!.played[1]!.at(-1), 6);
    await b.end();
  } finally {
    await t.dispose();
  }
});

Deno.test("a bell fires at its local time on the DST change day (virtual clock)", async () => {
  // Saturday 2026-03-28 12:00 UTC; the bell is Sunday 08:00 Berlin = 06:00 UTC (CEST since 02:00).
  const wallStart = Date.UTC(2026, 2, 28, 12, 0);
  const t = setup({ wallStart });
  try {
    t.storage.paging.createSchedule({
      name: "Sunday bell",
      target: "72",
      wavPath: "/bells/ding.wav",
      weekdays: [7],
      time: "08:00",
    });
    t.svc.startScheduler();
    const due = Date.UTC(2026, 2, 29, 6, 0) - wallStart;
    assert.equal(Object.values(t.svc.nextBells())[0], Date.UTC(2026, 2, 29, 6, 0));
    t.clock.advance(due - 1000);
    await flush();
    assert.equal(t.devices.length, 0, "nothing before the bell");
    t.clock.advance(1000);
    await flush();
    await flush();
    const played = t.devices[0]!.played[1]!;
    assert.equal(played.length, 800);
    assert.equal(played[0], 777);
    const [log] = t.storage.paging.log();
    assert.deepEqual([log?.origin, log?.priority, log?.outcome], ["schedule:1", "bell", "completed"]);
  } finally {
    await t.dispose();
  }
});

Deno.test("permissions, target resolution and unknown targets", async () => {
  const t = setup();
  try {
    t.storage.paging.setPermissions("201", ["71"]);
    t.storage.paging.setPermissions("209", ["*"]);
    assert.equal(t.svc.canPage("201", "71"), true);
    assert.equal(t.svc.canPage("201", "79"), false);
    assert.equal(t.svc.canPage("209", "70"), true);
    assert.equal(t.svc.canPage("209", "55"), false);
    assert.deepEqual(t.svc.resolveTarget("70")?.map((z) => z.number), ["71", "72"]);
    assert.equal(t.svc.resolveTarget("55"), undefined);
    assert.throws(() => t.svc.startPage({ target: "55", origin: { extension: "201" } }), RangeError);
    const p = t.svc.startPage({ target: "72", origin: { extension: "201" } });
    assert.throws(() => p.push({ samples: [1, 2] as unknown as Int16Array, sampleRate: 8000 }), TypeError);
    await p.end();
  } finally {
    await t.dispose();
  }
});

Deno.test("a missing sound card makes the zone faulty and the page fail, without throwing", async () => {
  const t = setup({ failDevice: true });
  try {
    const p = t.svc.startPage({ target: "72", origin: { extension: "201" } });
    p.push(frame(1));
    const r = await p.end();
    assert.equal(r.outcome, "failed");
    assert.match(r.detail, /No such device/);
    const z72 = t.svc.status().find((z) => z.number === "72");
    assert.equal(z72?.state, "faulty");
    assert.match(z72?.fault ?? "", /No such device/);
  } finally {
    await t.dispose();
  }
});

Deno.test("a multicast zone sends Polycom alert, transmit (with redundancy) and end packets", async () => {
  const t = setup();
  try {
    t.storage.paging.createZone({
      number: "75",
      name: "Phones",
      multicast: { address: "127.0.0.1", port: 5001, format: "polycom", codec: "PCMU", ttl: 1, channel: 24 },
    });
    const p = t.svc.startPage({ target: "75", origin: { extension: "201" } });
    p.push(frame(1000, 320)); // two 20 ms frames
    for (let i = 0; i < 10; i++) t.clock.advance(30);
    const done = p.end();
    for (let i = 0; i < 10; i++) {
      t.clock.advance(30);
      await flush();
    }
    await done;
    const parsed = t.packets.map(parsePolycomPacket);
    assert.deepEqual(parsed.map((x) => x.op), [
      POLYCOM_OP.alert,
      POLYCOM_OP.alert,
      POLYCOM_OP.alert,
      POLYCOM_OP.transmit,
      POLYCOM_OP.transmit,
      POLYCOM_OP.end,
      POLYCOM_OP.end,
    ]);
    assert.ok(parsed.every((x) => x.channel === 24 && x.callerId === "201"));
    assert.equal(parsed[3]!.audio!.length, 160);
    assert.equal(parsed[4]!.audio!.length, 320, "previous frame repeated");
    assert.equal(parsed[4]!.sampleCount, 160);
  } finally {
    await t.dispose();
  }
});

Deno.test("onChange reports zone states: paging while a page runs, idle after, faulty on a dead device", async () => {
  const t = setup();
  try {
    const seen: string[] = [];
    const off = t.svc.onChange((zones: ZoneStatus[]) => {
      seen.push(zones.map((z) => `${z.number}:${z.state}${z.page ? `(${z.page.origin})` : ""}`).join(" "));
    });
    const page = t.svc.startPage({
      target: "71",
      origin: { extension: "201" },
      preTone: false,
      postTone: false,
    });
    await flush();
    t.clock.advance(200);
    page.push(frame(5));
    const done = page.end();
    await flush();
    await done;
    await flush();
    assert.deepEqual(seen, ["71:paging(201) 72:idle", "71:idle 72:idle"]);
    off();
    t.svc.startPage({ target: "72", origin: { extension: "202" } });
    await flush();
    assert.equal(seen.length, 2, "no calls after unsubscribing");
  } finally {
    await t.dispose();
  }
  const f = setup({ failDevice: true });
  try {
    const states: ZoneStatus[][] = [];
    f.svc.onChange((z) => states.push(z));
    const p = f.svc.startPage({ target: "72", origin: { extension: "201" } });
    await p.end();
    await flush();
    const last = states.at(-1)!.find((z) => z.number === "72")!;
    assert.equal(last.state, "faulty");
    assert.match(last.fault ?? "", /No such device/);
  } finally {
    await f.dispose();
  }
});

Deno.test("a missing amplifier line (GPIO chip absent) marks the zone faulty but the page still plays", async () => {
  const t = setup({ ampError: "GPIO line gpiochip9:4: /dev/gpiochip9 not found" });
  try {
    const page = t.svc.startPage({
      target: "71",
      origin: { extension: "201" },
      preTone: false,
      postTone: false,
    });
    page.push(frame(1234));
    await flush();
    const z71 = t.svc.status().find((z) => z.number === "71")!;
    assert.equal(z71.state, "faulty");
    assert.match(z71.fault ?? "", /gpiochip9 not found/);
    assert.equal(t.devices[0]!.played[0]![0], 1234, "audio reaches the speaker without the lead time");
    assert.equal((await page.end()).outcome, "completed", "the speaker played it");
    // The box keeps going: the next page is accepted too.
    const next = t.svc.startPage({ target: "72", origin: { extension: "201" } });
    assert.equal(next.state, "live");
    await next.end();
  } finally {
    await t.dispose();
  }
});

Deno.test("a page with record: true writes a WAV of the caller's audio that runtime/media/wav reads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pbx-page-rec-" });
  const t = setup({ recordingDir: dir });
  try {
    const page = t.svc.startPage({ target: "72", origin: { extension: "201" }, record: true });
    // Wideband caller audio (G.722 decodes to 16 kHz): the WAV keeps the caller's rate.
    const ramp = new Int16Array(320).map((_, i) => i * 10);
    page.push({ samples: ramp, sampleRate: 16000 });
    page.push({ samples: new Int16Array(320).fill(-500), sampleRate: 16000 });
    await flush();
    const result = await page.end();
    assert.equal(result.outcome, "completed");
    const [entry] = t.storage.paging.log();
    assert.equal(entry?.recordingPath, `${dir}/page-${result.logId}.wav`);
    const wav = readWav(await Deno.readFile(entry!.recordingPath!));
    assert.equal(wav.sampleRate, 16000);
    assert.equal(wav.channels, 1);
    assert.equal(wav.samples.length, 640);
    assert.deepEqual([...wav.samples.subarray(0, 320)], [...ramp]);
    assert.equal(wav.samples[639], -500);
  } finally {
    await t.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a page lasting the zones' maximum page duration is told to end; the zone is free again", async () => {
  const t = setup();
  try {
    t.storage.paging.updateZone("71", { maxPageSec: 120 });
    t.storage.paging.updateZone("72", { maxPageSec: 60 });
    assert.equal(t.storage.paging.getZone("71")?.maxPageSec, 120);
    const limits: number[] = [];
    // Group 79 pages both zones: the shorter limit (60 s) applies.
    const page = t.svc.startPage({
      target: "79",
      origin: { extension: "201" },
      onTimeLimit: (s) => {
        limits.push(s);
        void page.end();
      },
    });
    assert.equal(page.state, "live");
    t.clock.advance(59_999);
    await flush();
    assert.equal(limits.length, 0);
    t.clock.advance(1);
    await flush();
    assert.deepEqual(limits, [60]);
    t.clock.advance(2000);
    await flush();
    assert.equal((await page.done).outcome, "completed");
    assert.ok(t.svc.status().every((z) => z.state === "idle"), JSON.stringify(t.svc.status()));
    // The next page gets the zones.
    const next = t.svc.startPage({ target: "72", origin: { extension: "202" } });
    assert.equal(next.state, "live");
    await next.cancel();
    // 0 = no limit, and a page started without onTimeLimit (a bell, the API) has none either.
    t.storage.paging.updateZone("72", { maxPageSec: 0 });
    const unlimited = t.svc.startPage({
      target: "72",
      origin: { extension: "202" },
      onTimeLimit: () => limits.push(-1),
    });
    t.clock.advance(3_600_000);
    await flush();
    assert.deepEqual(limits, [60]);
    await unlimited.cancel();
  } finally {
    await t.dispose();
  }
});

Deno.test("a bad maximum page duration is refused by the store", () => {
  const t = setup();
  try {
    assert.throws(() => t.storage.paging.updateZone("71", { maxPageSec: -1 }), RangeError);
    assert.throws(() => t.storage.paging.updateZone("71", { maxPageSec: 90_000 }), RangeError);
    assert.equal(t.storage.paging.getZone("71")?.maxPageSec, 300, "default 300 s");
  } finally {
    void t.dispose();
  }
});
