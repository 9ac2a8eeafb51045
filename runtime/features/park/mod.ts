/**
 * Call park as a feature module on the call engine. The park number (default 700) parks whoever
 * reaches it: a party blind-transferred there (the usual way: REFER to 700 from either party of a
 * call, which hands the transferee to this application), or a caller dialling it. The parked party
 * gets the first free slot (701-708 by default), hears the slot number and then a soft tone while it
 * waits. Dialling the slot from any phone retrieves it: the two are bridged (`calls.bridge`). A call
 * nobody retrieves within the timeout rings the extension that parked it (`leg.dial`, the parker's
 * own route); when that fails too, or there is no parker, it is hung up. Dialling an empty slot
 * answers 404 ("park slot empty").
 *
 * Also: the park feature code (`*85` by default, the feature-code table's `park`) parks like 700; a
 * blind transfer to a slot number parks in that slot (directed park) when it is free and is refused
 * with 486 when it is taken; the lot's settings (slots, timeout, recall destination, paging zone)
 * are stored (`park.lot`) and served at /api/park; with a paging zone set, parking announces "call
 * parked on 701" on that zone through the paging application (run by name on an announcement
 * leg, runtime/call/announce.ts); the Park page lists the slots live over SSE.
 * @module
 */
import type { Context, Hono } from "hono";
import {
  announcementLeg,
  type CallLeg,
  type Calls,
  type FeatureModule,
  type FeatureWebEnv,
  type FeatureWebKit,
} from "../../call/mod.ts";
import type { Claim, PlanMatch, Route } from "../../call/route/mod.ts";
import type { Clock } from "../../clock/mod.ts";
import { digitPromptIds } from "../../media/prompts/mod.ts";
import type { Logger } from "../../log/mod.ts";

/** The prompts the announcement speaks (PromptLibrary fits: ids like "digit-7"). */
export interface ParkPrompts {
  get(id: string): Promise<{ rate16: Int16Array }>;
}

/** The park lot's settings (stored under `park.lot`, changed with PUT /api/park/settings). */
export interface ParkSettings {
  /** The first slot number (default the park number + 1); slots are consecutive numbers. */
  firstSlot: string;
  /** How many slots (1-50). */
  slots: number;
  /** Seconds before an unretrieved call is recalled (5-3600). */
  timeoutSec: number;
  /** Where a timed-out call goes: a number of the dialplan; null: the extension that parked it. */
  recallTo: string | null;
  /** A paging zone or group number the slot is announced on; null: no announcement. */
  pageZone: string | null;
  /**
   * Keys provisioning adds to every assigned phone: "slots" one key per slot (BLF on the slot:
   * lit while a call is parked there; pressed, it retrieves, or parks the call in progress),
   * "code" one park key dialling the park number, "none" (the default) nothing.
   */
  phoneKeys: "none" | "code" | "slots";
}

/** A key provisioning puts on phones for park ("parkslot": BLF on a slot; "park": the park number). */
export interface ParkPhoneKey {
  type: "park" | "parkslot";
  value: string;
  label: string;
}

/** Options of `parkFeature`. */
export interface ParkOptions {
  /** The park number (default "700"); slots follow it: 701.. */
  number?: string;
  /** How many slots (default 8), unless stored settings say otherwise. */
  slots?: number;
  /** Time before a parked call rings its parker (default 60 s), unless stored settings say otherwise. */
  timeoutMs?: number;
  /** Ring time of the recall (default 20 s). */
  recallRingSeconds?: number;
  prompts?: ParkPrompts;
  clock: Clock;
  log: Logger;
  /** Where the lot's settings are kept (the settings table); without it the defaults apply. */
  settings?: { get<T>(key: string): T | undefined; set(key: string, value: unknown): void };
  /** The number plan, to check a recall destination and a paging zone (`paging-zone`/`paging-group`). */
  lookup?(number: string): PlanMatch | undefined;
  /** Who else holds a number (a new slot range must be free), or undefined. */
  numberInUse?(number: string): string | undefined;
  /** Run another feature's application by name (the paging application, for park and page). */
  runApplication?(name: string, leg: CallLeg, args: Record<string, unknown>): Promise<void>;
}

/** A parked call. */
interface Parked {
  slot: string;
  leg: CallLeg;
  parker: string | undefined;
  /** Epoch ms it was parked. */
  since: number;
  /** Set when a retriever took it (the wait loop stops). */
  taken?: CallLeg;
  wake: () => void;
}

/** One occupied slot, as the API and the page show it. */
export interface ParkedCall {
  slot: string;
  /** The parked party's number. */
  caller: string;
  /** Who parked it (the transferor), or null when it dialled the park number itself. */
  parkedBy: string | null;
  /** Epoch ms. */
  since: number;
}

/** The waiting tone (soft, 1 s every 4 s) a parked party hears between announcements. */
const WAITING = "440/300,0/3700";

const DIGITS = /^[0-9]{1,12}$/;

/** The park feature; `parked()` lists the occupied slots (for tests and the API). */
export function parkFeature(
  options: ParkOptions,
): FeatureModule & {
  parked(): string[];
  calls(): ParkedCall[];
  settings(): ParkSettings;
  /** Whether `n` is one of the lot's slot numbers now (BLF on a slot). */
  isSlot(n: string): boolean;
  /** The keys provisioning adds to phones (the `phoneKeys` setting). */
  phoneKeys(): ParkPhoneKey[];
  /** Called on every change of the slots or the settings; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
} {
  const base = options.number ?? "700";
  const defaults: ParkSettings = {
    firstSlot: String(Number(base) + 1),
    slots: options.slots ?? 8,
    timeoutSec: Math.round((options.timeoutMs ?? 60_000) / 1000),
    recallTo: null,
    pageZone: null,
    phoneKeys: "none",
  };
  const stored = options.settings?.get<Partial<ParkSettings>>("park.lot");
  let lot: ParkSettings = { ...defaults, ...(stored ?? {}) };
  // The env's timeout (PBX_PARK_SECONDS) rules until the lot is saved with its own.
  if (stored?.timeoutSec === undefined && options.timeoutMs !== undefined) {
    lot.timeoutSec = options.timeoutMs / 1000;
  }
  const slotNumbersOf = (l: ParkSettings) =>
    Array.from(
      { length: l.slots },
      (_, i) => String(Number(l.firstSlot) + i).padStart(l.firstSlot.length, "0"),
    );
  let slotNumbers = slotNumbersOf(lot);
  const slots = new Map<string, Parked>();
  const { log, clock } = options;
  let calls: Calls | undefined;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of [...listeners]) {
      try {
        l();
      } catch { /* a listener's failure is its own */ }
    }
  };

  const say = async (leg: CallLeg, ids: string[]) => {
    for (const id of ids) {
      if (options.prompts === undefined) return;
      const a = await options.prompts.get(id);
      await leg.play({ pcm: a.rate16, sampleRate: 16000 });
    }
  };

  /** "Call parked on 701" on the lot's paging zone, through the paging application. */
  const announce = async (slot: string) => {
    const zone = lot.pageZone;
    if (zone === null) return;
    if (options.prompts === undefined || options.runApplication === undefined) {
      log.warn("park page: no prompts or no application runner", { slot, zone });
      return;
    }
    try {
      const parts = await Promise.all(
        ["park-parked-on", ...digitPromptIds(slot)].map((id) => options.prompts!.get(id)),
      );
      const gap = new Int16Array(16000 / 10); // 100 ms between the words
      const pcm = new Int16Array(parts.reduce((n, p) => n + p.rate16.length + gap.length, 0));
      let at = 0;
      for (const p of parts) {
        pcm.set(p.rate16, at);
        at += p.rate16.length + gap.length;
      }
      const leg = announcementLeg({ caller: base, dialled: zone, pcm, sampleRate: 16000, clock });
      const run = options.runApplication("paging", leg, {
        target: zone,
        emergency: false,
        origin: `park:${slot}`,
      });
      const outcome = await leg.outcome;
      if (!outcome.answered) {
        log.warn("park page refused", { slot, zone, status: outcome.status, reason: outcome.reason ?? "" });
        return;
      }
      log.info("park page started", { slot, zone, ms: Math.round(pcm.length / 16) });
      await run;
      await leg.ended;
    } catch (e) {
      log.warn("park page failed", { slot, zone, error: e as Error });
    }
  };

  /** Hold `leg` in `slot` until retrieved, timed out (recall) or gone. */
  const hold = async (leg: CallLeg, slot: string) => {
    leg.answer();
    let wake: () => void = () => {};
    const parked: Parked = {
      slot,
      leg,
      parker: leg.info.referredBy,
      since: clock.wallNow(),
      wake: () => wake(),
    };
    slots.set(slot, parked);
    changed();
    log.info("call parked", { slot, caller: leg.info.caller, parker: parked.parker ?? "none" });
    void announce(slot);
    const woken = new Promise<void>((r) => (wake = r));
    let timedOut = false;
    const timer = clock.setTimeout(() => {
      timedOut = true;
      parked.wake();
    }, lot.timeoutSec * 1000);
    try {
      await say(leg, digitPromptIds(slot)).catch(() => {});
      // Wait: the tone loops until retrieved, timed out or the party hangs up.
      while (!timedOut && parked.taken === undefined) {
        const r = await Promise.race([
          leg.play({ tone: WAITING, durationMs: 4000 }).then(
            () => "played" as const,
            () => "ended" as const,
          ),
          woken.then(() => "woken" as const),
          leg.ended.then(() => "ended" as const),
        ]);
        if (r === "ended") return;
      }
      await leg.stopPlay().catch(() => {});
      if (parked.taken !== undefined) return; // the retriever's application owns the bridge now
      slots.delete(slot);
      changed();
      const to = lot.recallTo ?? parked.parker;
      if (to === undefined) {
        log.info("park timeout: nobody to ring back", { slot });
        leg.hangup("park timeout");
        return;
      }
      // "parker" is who is rung back: the recall destination when one is set.
      log.info("park timeout: ringing the parker", { slot, parker: to });
      const back = lot.recallTo !== null
        ? await leg.dial(lot.recallTo)
        : await leg.dial({ kind: "extension", number: to, ringSeconds: options.recallRingSeconds ?? 20 });
      log.info("park recall", { slot, parker: to, outcome: back.outcome });
      if (back.outcome !== "handedOver" && back.outcome !== "cancelled") leg.hangup("park recall over");
    } catch (e) {
      log.debug("parked call ended", { slot, error: e as Error });
    } finally {
      clock.clearTimeout(timer);
      if (slots.get(slot) === parked && parked.taken === undefined) {
        slots.delete(slot);
        changed();
      }
    }
  };

  const park = {
    name: "park",
    async run(leg: CallLeg) {
      const slot = slotNumbers.find((s) => !slots.has(s));
      if (slot === undefined) {
        log.warn("park: every slot is taken", { caller: leg.info.caller });
        leg.reject(486, "Busy Here (every park slot is taken)");
        return;
      }
      await hold(leg, slot);
    },
  };

  const retrieve = {
    name: "park-retrieve",
    async run(leg: CallLeg, args: { slot?: string }) {
      const slot = args.slot;
      const parked = slot !== undefined ? slots.get(slot) : undefined;
      // A party blind-transferred to a slot number is parked there (directed park).
      if (leg.info.referredBy !== undefined && slot !== undefined) {
        if (parked !== undefined) {
          log.warn("directed park refused: slot taken", {
            slot,
            caller: leg.info.caller,
            by: leg.info.referredBy,
          });
          leg.reject(486, `Busy Here (park slot ${slot} is taken)`);
          return;
        }
        await hold(leg, slot);
        return;
      }
      if (parked === undefined || parked.taken !== undefined || calls === undefined) {
        log.info("park slot empty", { slot, caller: leg.info.caller });
        leg.reject(404, "Not Found (park slot empty)");
        return;
      }
      parked.taken = leg;
      slots.delete(parked.slot);
      changed();
      parked.wake();
      leg.answer();
      try {
        await parked.leg.stopPlay().catch(() => {});
        // The retriever's leg is up once a play works (the answer's ACK).
        await leg.play({ silenceMs: 20 });
        await calls.bridge(leg, parked.leg);
        log.info("parked call retrieved", { slot: parked.slot, by: leg.info.caller });
        const first = await Promise.race([
          leg.ended.then(() => "retriever"),
          parked.leg.ended.then(() => "parked"),
        ]);
        if (first === "retriever") parked.leg.hangup("retriever hung up");
        else leg.hangup("parked party hung up");
      } catch (e) {
        log.warn("retrieving a parked call failed", { slot: parked.slot, error: e as Error });
        leg.hangup("retrieve failed");
        parked.leg.hangup("retrieve failed");
      }
    },
  };

  const claimsOf = (numbers: string[]): Claim[] => [
    { pattern: base, owner: { kind: "park", id: base, label: `park ${base}` }, purpose: "park a call" },
    ...numbers.map((s) => ({
      pattern: s,
      owner: { kind: "park" as const, id: s, label: `park slot ${s}` },
      purpose: "retrieve a parked call (a blind transfer to it parks there)",
    })),
  ];
  let claims = claimsOf(slotNumbers);

  const list = (): ParkedCall[] =>
    [...slots.values()].sort((a, b) => a.slot.localeCompare(b.slot)).map((p) => ({
      slot: p.slot,
      caller: p.leg.info.caller,
      parkedBy: p.parker ?? null,
      since: p.since,
    }));

  /** Validate a settings change (RangeError naming the field) and return the new settings. */
  const checkSettings = (body: Record<string, unknown>): ParkSettings => {
    const next: ParkSettings = { ...lot };
    if (body.firstSlot !== undefined) {
      if (typeof body.firstSlot !== "string" || !DIGITS.test(body.firstSlot)) {
        throw new RangeError("firstSlot: a number of 1-12 digits");
      }
      next.firstSlot = body.firstSlot;
    }
    const int = (k: "slots" | "timeoutSec", min: number, max: number) => {
      const v = body[k];
      if (v === undefined) return;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
        throw new RangeError(`${k}: an integer from ${min} to ${max}`);
      }
      next[k] = v;
    };
    int("slots", 1, 50);
    if (body.phoneKeys !== undefined) {
      if (body.phoneKeys !== "none" && body.phoneKeys !== "code" && body.phoneKeys !== "slots") {
        throw new RangeError('phoneKeys: "none", "code" or "slots"');
      }
      next.phoneKeys = body.phoneKeys;
    }
    int("timeoutSec", 5, 3600);
    for (const k of ["recallTo", "pageZone"] as const) {
      const v = body[k];
      if (v === undefined) continue;
      if (v === null || v === "") {
        next[k] = null;
        continue;
      }
      if (typeof v !== "string" || !/^[0-9*#+]{1,32}$/.test(v)) {
        throw new RangeError(`${k}: a number or null`);
      }
      next[k] = v;
    }
    return next;
  };

  const routes = (api: Hono<FeatureWebEnv>, kit: FeatureWebKit) => {
    api.use("/park", kit.requireAdmin);
    api.use("/park/*", kit.requireAdmin);
    api.get("/park", (c) => c.json({ number: base, settings: lot, slots: slotNumbers, parked: list() }));
    api.put("/park/settings", async (c: Context<FeatureWebEnv>) => {
      const bytes = await kit.readBody(c, 16 * 1024);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(new TextDecoder().decode(bytes));
        if (body === null || typeof body !== "object" || Array.isArray(body)) throw new TypeError();
      } catch {
        kit.fail(400, "the body must be a JSON object");
      }
      let next: ParkSettings;
      try {
        next = checkSettings(body);
      } catch (e) {
        log.info("park settings refused", { error: (e as Error).message });
        kit.fail(400, (e as Error).message);
      }
      const numbers = slotNumbersOf(next);
      if (Number(numbers.at(-1)).toString().length > 12) {
        kit.fail(400, "firstSlot: the slots run past 12 digits");
      }
      if (numbers.includes(base)) kit.fail(400, `the slots must not include the park number ${base}`);
      for (const n of numbers) {
        if (slotNumbers.includes(n)) continue;
        const other = options.numberInUse?.(n);
        if (other !== undefined) kit.fail(409, `park slot ${n} is taken by ${other}`);
      }
      if (next.pageZone !== null && options.lookup !== undefined) {
        const kind = options.lookup(next.pageZone)?.claim.owner.kind;
        if (kind !== "paging-zone" && kind !== "paging-group") {
          kit.fail(404, `pageZone: ${next.pageZone} is not a paging zone or group`);
        }
      }
      if (
        next.recallTo !== null && options.lookup !== undefined && options.lookup(next.recallTo) === undefined
      ) {
        kit.fail(404, `recallTo: ${next.recallTo} is not in the number plan`);
      }
      lot = next;
      slotNumbers = numbers;
      claims = claimsOf(slotNumbers);
      options.settings?.set("park.lot", lot);
      log.info("park settings saved", {
        firstSlot: lot.firstSlot,
        slots: lot.slots,
        timeoutSec: lot.timeoutSec,
        recallTo: lot.recallTo ?? "parker",
        pageZone: lot.pageZone ?? "none",
        phoneKeys: lot.phoneKeys,
      });
      kit.audit(c, "park.settings", JSON.stringify(lot));
      changed();
      return c.json(lot);
    });
    api.get("/park/events", (c) => {
      const enc = new TextEncoder();
      let stop = () => {};
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          const send = () => {
            try {
              const data = JSON.stringify({ settings: lot, slots: slotNumbers, parked: list() });
              ctl.enqueue(enc.encode(`event: park\ndata: ${data}\n\n`));
            } catch {
              stop();
            }
          };
          const onChange = () => send();
          listeners.add(onChange);
          // A comment every 20 s keeps proxies from closing an idle stream.
          const beat = setInterval(() => {
            try {
              ctl.enqueue(enc.encode(": keep-alive\n\n"));
            } catch {
              stop();
            }
          }, 20_000);
          stop = () => {
            listeners.delete(onChange);
            clearInterval(beat);
          };
          ctl.enqueue(enc.encode("retry: 3000\n\n"));
          send();
        },
        cancel() {
          stop();
        },
      });
      return c.body(body, 200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
      });
    });
  };

  return {
    name: "park",
    numbers: () => claims,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        const { owner } = match.claim;
        // The park feature code (*85 by default) parks like the park number.
        if (owner.kind === "feature-code" && owner.id === "park") {
          return { steps: [{ destination: { kind: "application", name: "park" } }] };
        }
        if (owner.kind !== "park") return undefined;
        const id = owner.id;
        return id === base
          ? { steps: [{ destination: { kind: "application", name: "park" } }] }
          : { steps: [{ destination: { kind: "application", name: "park-retrieve", args: { slot: id } } }] };
      },
    },
    applications: [park, retrieve],
    useCalls(c) {
      calls = c;
    },
    web: {
      routes,
      openapi: PARK_OPENAPI,
      pages: [{
        path: "/park",
        title: "Call park",
        script: new URL("./web/park.js", import.meta.url),
        render: ({ html, dataTable }) =>
          html`
            <section class="card stack" aria-labelledby="park-slots-h">
              <h2 id="park-slots-h">Parked calls</h2>
              <p id="park-status" role="status">Connecting…</p>
              ${dataTable("park-table", ["Slot", "Parked caller", "Parked by", "Since"])}
              <p id="park-empty" hidden>No call is parked.</p>
              <p id="park-about"></p>
            </section>
            <section class="card stack">
              <form id="park-form" class="stack">
                <h2>Park lot settings</h2>
                <label for="park-first">First slot</label>
                <input id="park-first" name="firstSlot" required inputmode="numeric" autocomplete="off">
                <label for="park-count">Number of slots</label>
                <input id="park-count" name="slots" type="number" min="1" max="50" required>
                <label for="park-timeout">Seconds before a parked call rings back</label>
                <input id="park-timeout" name="timeoutSec" type="number" min="5" max="3600" required>
                <label for="park-recall">Recall destination (empty: the extension that parked it)</label>
                <input id="park-recall" name="recallTo" inputmode="tel" autocomplete="off">
                <label for="park-zone">Announce the slot on paging zone or group (empty: no announcement)</label>
                <input id="park-zone" name="pageZone" inputmode="tel" autocomplete="off">
                <label for="park-keys">Park keys on phones</label>
                <select id="park-keys" name="phoneKeys">
                  <option value="none">None</option>
                  <option value="code">One key: park (dials the park number)</option>
                  <option value="slots">One key per slot (lit while a call is parked there)</option>
                </select>
                <div class="buttons"><button type="submit">Save park settings</button></div>
              </form>
            </section>
          `,
      }],
    },
    parked: () => [...slots.keys()],
    calls: list,
    settings: () => lot,
    isSlot: (n) => slotNumbers.includes(n),
    phoneKeys: () =>
      lot.phoneKeys === "slots"
        ? slotNumbers.map((n) => ({ type: "parkslot", value: n, label: `Park ${n}` }))
        : lot.phoneKeys === "code"
        ? [{ type: "park", value: base, label: "Park" }]
        : [],
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const PARK_OPENAPI: Readonly<Record<string, unknown>> = {
  "/api/park": {
    get: {
      summary:
        "The park lot: number, settings, slot numbers and the parked calls (slot, caller, parkedBy, since)",
      responses: { 200: { description: "{number, settings, slots, parked}" } },
    },
  },
  "/api/park/settings": {
    put: {
      summary:
        "Change the park lot: firstSlot, slots (1-50), timeoutSec (5-3600), recallTo (a dialplan number or null: the parker), pageZone (a paging zone or group or null), phoneKeys (none, code: one key dialling the park number, slots: a BLF key per slot, on every assigned phone); 400 bad value, 404 unknown number, 409 a slot number taken",
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: {
              type: "object",
              properties: {
                firstSlot: { type: "string" },
                slots: { type: "integer", minimum: 1, maximum: 50 },
                timeoutSec: { type: "integer", minimum: 5, maximum: 3600 },
                recallTo: { type: ["string", "null"] },
                pageZone: { type: ["string", "null"] },
                phoneKeys: { type: "string", enum: ["none", "code", "slots"] },
              },
            },
          },
        },
      },
      responses: Object.fromEntries(
        [200, 400, 401, 403, 404, 409].map((
          s,
        ) => [s, { description: s === 200 ? "ParkSettings" : "{error}" }]),
      ),
    },
  },
  "/api/park/events": {
    get: {
      summary: "SSE: event `park` with {settings, slots, parked} at connect and on every change",
      responses: { 200: { description: "text/event-stream" } },
    },
  },
};
