import assert from "node:assert/strict";
import { VirtualClock } from "../../clock/mod.ts";
import { writeWav } from "../../media/wav/mod.ts";
import { tempStorage } from "../../storage/_testing.ts";
import { parsePolycomPacket, POLYCOM_OP } from "./multicast.ts";
import { PagingService } from "./service.ts";
import type { AmpLine, DatagramSender, SpeakerDevice, SpeakerOpenHints } from "./types.ts";

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

function setup(options: { equalPriority?: "busy" | "wait"; wallStart?: number; failDevice?: boolean } = {}) {
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
    openSpeaker: (name, hints) => {
      if (options.failDevice) {
        return Promise.reject(new Error(`cannot open ALSA PCM "${name}": No such device`));
      }
      const d = new FakeDevice(8000, hints.channels, hints);
      devices.push(d);
      return Promise.resolve(d);
    },
    openAmpLine: (spec): AmpLine => ({
      set(on) {
        amps.push({ spec, at: clock.now(), on });
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    }),
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
