/**
 * Auto attendant (IVR) as a feature module: menus stored per number (migration 061), each with a
 * greeting (text spoken by the prompt library), digit choices, a digit timeout, repeats, and what
 * happens on timeout, on an invalid digit and after the last repeat. A choice leads to another menu
 * (run in the same call), to an application by name (e.g. `voicemail-deposit` with its args, run
 * on the same leg through `runApplication`), to a number (`dial`: the operator, a department's
 * group), or to dial-by-extension (`extension`: the caller types an extension and #).
 *
 * Dialling goes through the call engine's onward routing (`leg.dial`, runtime/call/onward.ts): the
 * number's route runs for the caller with its continuations (voicemail after no answer takes the
 * call); when nobody answers the caller hears why and is back in the menu. See docs/voicemail.md
 * ("Auto attendant").
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Hono } from "hono";
import type { CallLeg, FeatureModule, FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import type { Claim, PlanMatch, Route } from "../../call/route/mod.ts";
import type { Logger } from "../../log/mod.ts";
import * as m061 from "../../storage/migrations/061_ivr.ts";
import { type DirectoryBy, type DirectoryEntry, directoryMatches } from "./directory.ts";
import { readWav, writeWav } from "../../media/wav/mod.ts";
import { resampleMono } from "../../media/prompts/mod.ts";

/** Where a choice, a timeout or an invalid digit leads. */
export type IvrTarget =
  | { kind: "menu"; number: string }
  | { kind: "application"; name: string; args?: Record<string, unknown> }
  | { kind: "dial"; number: string }
  /** The caller enters an extension (digits then #, or a pause) and is dialled there. */
  | { kind: "extension" }
  /** Dial by name: the caller spells the first letters of a last (or first) name on the keypad. */
  | { kind: "directory"; by?: DirectoryBy }
  | { kind: "hangup" };

/** One menu. */
export interface IvrMenu {
  number: string;
  name: string;
  /** What the caller hears (spoken by text-to-speech). */
  greeting: string;
  /** Digit (0-9, *, #) to target. */
  options: Record<string, IvrTarget>;
  /** How long to wait for a digit after the greeting (default 5000 ms). */
  timeoutMs?: number;
  /** Greeting plays at most 1 + repeats times on timeouts/invalid digits (default 2). */
  repeats?: number;
  /** After the last repeat (default hang up with goodbye). */
  final?: IvrTarget;
}

/** The prompts the menus speak (PromptLibrary fits). */
export interface IvrPrompts {
  get(id: string): Promise<{ rate16: Int16Array }>;
  say(text: string): Promise<{ rate16: Int16Array }>;
}

const NUMBER_RE = /^[0-9*#]{1,16}$/;
const DIGITS = "0123456789*#";

/** Check a menu from the API; a RangeError/TypeError names what is wrong. */
export function checkMenu(input: unknown): IvrMenu {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError("menu must be an object");
  }
  const m = input as Record<string, unknown>;
  const str = (k: string, max: number) => {
    const v = m[k];
    if (typeof v !== "string" || v.length === 0 || v.length > max) {
      throw new RangeError(`${k} must be 1-${max} characters`);
    }
    return v;
  };
  const number = str("number", 16);
  if (!NUMBER_RE.test(number)) throw new RangeError("number may hold only 0-9 * # (1-16)");
  const target = (v: unknown, where: string): IvrTarget => {
    const t = v as Record<string, unknown> | null;
    if (typeof t !== "object" || t === null) throw new TypeError(`${where} must be an object`);
    if (t.kind === "menu" || t.kind === "dial") {
      if (typeof t.number !== "string" || !NUMBER_RE.test(t.number)) {
        throw new RangeError(`${where}.number must be digits`);
      }
      return { kind: t.kind, number: t.number };
    }
    if (t.kind === "application") {
      if (typeof t.name !== "string" || !/^[a-z][a-z0-9-]{0,40}$/.test(t.name)) {
        throw new RangeError(`${where}.name must be an application name`);
      }
      if (t.args !== undefined && (typeof t.args !== "object" || t.args === null || Array.isArray(t.args))) {
        throw new TypeError(`${where}.args must be an object`);
      }
      return t.args === undefined
        ? { kind: "application", name: t.name }
        : { kind: "application", name: t.name, args: t.args as Record<string, unknown> };
    }
    if (t.kind === "hangup") return { kind: "hangup" };
    if (t.kind === "extension") return { kind: "extension" };
    if (t.kind === "directory") {
      if (t.by !== undefined && t.by !== "first" && t.by !== "last") {
        throw new RangeError(`${where}.by must be "first" or "last"`);
      }
      return t.by === undefined ? { kind: "directory" } : { kind: "directory", by: t.by };
    }
    throw new RangeError(`${where}.kind must be menu, application, dial, extension, directory or hangup`);
  };
  const rawOptions = m.options ?? {};
  if (typeof rawOptions !== "object" || rawOptions === null || Array.isArray(rawOptions)) {
    throw new TypeError("options must be an object of digit: target");
  }
  const options: Record<string, IvrTarget> = {};
  for (const [digit, t] of Object.entries(rawOptions)) {
    if (digit.length !== 1 || !DIGITS.includes(digit)) {
      throw new RangeError(`option ${JSON.stringify(digit)} is not a digit`);
    }
    options[digit] = target(t, `options.${digit}`);
  }
  const menu: IvrMenu = { number, name: str("name", 80), greeting: str("greeting", 1000), options };
  for (const [k, lo, hi] of [["timeoutMs", 1000, 60_000], ["repeats", 0, 10]] as const) {
    if (m[k] === undefined) continue;
    const v = m[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`${k} must be ${lo}..${hi}`);
    }
    menu[k] = v;
  }
  if (m.final !== undefined) menu.final = target(m.final, "final");
  return menu;
}

/** The menu store over the appliance database. */
export interface IvrStore {
  list(): IvrMenu[];
  get(number: string): IvrMenu | undefined;
  put(menu: IvrMenu): void;
  delete(number: string): boolean;
}

/** Open the store (migration 061 applied); the numbers are cached for `numbers()`. */
export function createIvrStore(db: DatabaseSync, now: () => number = Date.now): IvrStore {
  return {
    list: () =>
      (db.prepare("SELECT config FROM ivr_menus ORDER BY number").all() as { config: string }[])
        .map((r) => JSON.parse(r.config) as IvrMenu),
    get(number) {
      const r = db.prepare("SELECT config FROM ivr_menus WHERE number = ?").get(number) as
        | { config: string }
        | undefined;
      return r === undefined ? undefined : JSON.parse(r.config) as IvrMenu;
    },
    put(menu) {
      db.prepare(
        "INSERT INTO ivr_menus (number, config, updated_at) VALUES (?, ?, ?) ON CONFLICT (number) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
      ).run(menu.number, JSON.stringify(menu), now());
    },
    delete: (number) => db.prepare("DELETE FROM ivr_menus WHERE number = ?").run(number).changes > 0,
  };
}

/** What the IVR application needs. */
export interface IvrDeps {
  store: IvrStore;
  prompts: IvrPrompts;
  log: Logger;
  /** Run another application on the same leg (voicemail, ...); absent: such choices hang up. */
  runApplication?(name: string, leg: CallLeg, args: Record<string, unknown>): Promise<void>;
  /** The people dial-by-name can find (extensions and their names); absent: nobody. */
  directory?(): readonly DirectoryEntry[];
  /** The uploaded greeting of a menu (16 kHz mono), undefined: the greeting text is spoken. */
  greeting?(menu: string): Promise<Int16Array | undefined>;
}

/** At most this many matches are read out (keys 1-8); more: the caller is asked for more letters. */
const MAX_LISTED = 8;

/** Answer and wait until the call is up (see voicemail's `answerAndWait`: no "started" signal yet). */
async function answerAndWait(leg: CallLeg): Promise<boolean> {
  leg.answer();
  for (let i = 0; i < 250; i++) {
    try {
      await leg.play({ tone: "0", durationMs: 20 });
      return true;
    } catch (e) {
      if (/ended/.test((e as Error).message)) return false;
      await new Promise((r) => setTimeout(r, 20)); // waiting on the network (ACK)
    }
  }
  return false;
}

/** Result of running a menu: what to do next. */
type Step = IvrTarget | { kind: "done" };

/** The `ivr` application: args `{menu}` (the menu number). */
export function ivrApplication(deps: IvrDeps) {
  const { store, prompts, log } = deps;
  const speak = async (leg: CallLeg, what: { id: string } | { text: string }) => {
    const a = "id" in what ? await prompts.get(what.id) : await prompts.say(what.text);
    await leg.play({ pcm: a.rate16, sampleRate: 16000 });
  };

  /**
   * Dial by name: collect three letter keys, read out the matches ("For Alice Smith, press 1"), take
   * the choice. The extension number, undefined when nothing matched or nothing was chosen (the
   * caller was told), "hangup" when the caller left.
   */
  const pickByName = async (
    leg: CallLeg,
    menu: IvrMenu,
    by: DirectoryBy,
  ): Promise<string | "hangup" | undefined> => {
    // Keys pressed during the prompt count (it stops at the first one).
    let typed = "";
    const offTyped = leg.on((ev) => {
      if (ev.type !== "dtmf" || typed.length >= 3 || typed.endsWith("#")) return;
      if (typed === "") void leg.stopPlay();
      typed += ev.digit;
    });
    try {
      await speak(leg, { text: `Please enter the first three letters of the person's ${by} name.` });
    } finally {
      offTyped();
    }
    let keys = typed.replace(/#.*$/, "");
    if (typed.length < 3 && !typed.endsWith("#")) {
      const more = await leg.collect({
        maxDigits: 3 - typed.length,
        timeoutMs: menu.timeoutMs ?? 5000,
        terminators: "#",
      });
      if (more.reason === "hangup") return "hangup";
      keys += more.digits;
    }
    const found = directoryMatches(deps.directory?.() ?? [], keys, by);
    log.info("ivr directory", { menu: menu.number, keys, by, matches: found.length });
    if (found.length === 0) {
      await speak(leg, { text: "No name matches those letters." });
      return undefined;
    }
    if (found.length === 1) {
      await speak(leg, { text: `Connecting you to ${found[0]!.name}.` });
      return found[0]!.number;
    }
    const listed = found.slice(0, MAX_LISTED);
    let pressed: string | undefined;
    const off = leg.on((ev) => {
      if (ev.type === "dtmf" && pressed === undefined) {
        pressed = ev.digit;
        void leg.stopPlay();
      }
    });
    try {
      const lines = listed.map((e, i) => `For ${e.name}, press ${i + 1}.`).join(" ");
      const more = found.length > MAX_LISTED ? " For others, hang up and try more letters." : "";
      await speak(leg, { text: lines + more });
    } finally {
      off();
    }
    let digit = pressed;
    if (digit === undefined) {
      const r = await leg.collect({ maxDigits: 1, timeoutMs: menu.timeoutMs ?? 5000 });
      if (r.reason === "hangup") return "hangup";
      digit = r.digits || undefined;
    }
    const choice = digit === undefined ? undefined : listed[Number(digit) - 1];
    if (choice === undefined) {
      await speak(leg, { id: digit === undefined ? "menu-timeout" : "menu-invalid" });
      return undefined;
    }
    return choice.number;
  };

  /** Play the greeting (a digit stops it), wait for one digit; repeats on timeout and invalid. */
  const runMenu = async (leg: CallLeg, menu: IvrMenu): Promise<Step> => {
    const repeats = menu.repeats ?? 2;
    for (let round = 0; round <= repeats; round++) {
      let pressed: string | undefined;
      const off = leg.on((ev) => {
        if (ev.type === "dtmf" && pressed === undefined) {
          pressed = ev.digit;
          void leg.stopPlay();
        }
      });
      const recorded = await deps.greeting?.(menu.number);
      await (recorded !== undefined
        ? leg.play({ pcm: recorded, sampleRate: 16000 })
        : speak(leg, { text: menu.greeting })).finally(off);
      let digit = pressed;
      if (digit === undefined) {
        const r = await leg.collect({ maxDigits: 1, timeoutMs: menu.timeoutMs ?? 5000 });
        if (r.reason === "hangup") return { kind: "done" };
        digit = r.digits || undefined;
      }
      if (digit !== undefined && menu.options[digit] !== undefined) {
        log.info("ivr choice", { menu: menu.number, digit, caller: leg.info.caller });
        return menu.options[digit]!;
      }
      log.info(digit === undefined ? "ivr timeout" : "ivr invalid choice", {
        menu: menu.number,
        digit,
        round,
        caller: leg.info.caller,
      });
      await speak(leg, { id: digit === undefined ? "menu-timeout" : "menu-invalid" });
    }
    return menu.final ?? { kind: "hangup" };
  };

  return {
    name: "ivr",
    async run(leg: CallLeg, args: { menu?: string }) {
      let menu = args.menu !== undefined ? store.get(args.menu) : undefined;
      if (menu === undefined) {
        log.warn("ivr: no such menu", { menu: args.menu });
        leg.reject(404, "Not Found (no such menu)");
        return;
      }
      if (!await answerAndWait(leg)) return;
      try {
        for (let hops = 0; hops < 20; hops++) {
          const next = await runMenu(leg, menu);
          if (next.kind === "done") return;
          if (next.kind === "menu") {
            const m = store.get(next.number);
            if (m === undefined) {
              log.warn("ivr: choice names a missing menu", { menu: menu.number, target: next.number });
              break;
            }
            menu = m;
            continue;
          }
          if (next.kind === "application") {
            if (deps.runApplication === undefined) break;
            await deps.runApplication(next.name, leg, next.args ?? {});
            return;
          }
          if (next.kind === "dial" || next.kind === "extension" || next.kind === "directory") {
            let number = next.kind === "dial" ? next.number : "";
            if (next.kind === "directory") {
              const picked = await pickByName(leg, menu, next.by ?? "last");
              if (picked === "hangup") return;
              if (picked === undefined) continue; // nothing found or chosen: the menu again
              number = picked;
            }
            if (next.kind === "extension") {
              await speak(leg, { id: "menu-enter-extension" });
              const r = await leg.collect({
                maxDigits: 8,
                timeoutMs: menu.timeoutMs ?? 5000,
                terminators: "#",
              });
              if (r.reason === "hangup") return;
              number = r.digits;
              if (!/^[0-9*]{1,8}$/.test(number)) {
                await speak(leg, { id: "menu-invalid" });
                continue;
              }
            }
            await speak(leg, { id: "transfer-hold" });
            const r = await leg.dial(number);
            log.info("ivr dialled", { menu: menu.number, target: number, outcome: r.outcome });
            if (r.outcome === "handedOver" || r.outcome === "cancelled") return;
            if (r.outcome === "answered") {
              if (r.by === "caller") return;
              break; // the callee hung up: goodbye
            }
            // Nobody answered: say why, then the menu again.
            await speak(leg, { id: r.outcome === "busy" ? "vm-busy" : "vm-unavailable" });
            continue;
          }
          break;
        }
        await speak(leg, { id: "goodbye" });
        leg.hangup("ivr done");
      } catch (e) {
        log.debug("ivr call ended", { caller: leg.info.caller, error: e as Error });
      }
    },
  };
}

/** Options of `ivrFeature`. */
export interface IvrFeatureOptions {
  db: DatabaseSync;
  prompts: IvrPrompts;
  log: Logger;
  runApplication?: IvrDeps["runApplication"];
  directory?: IvrDeps["directory"];
  /** Where uploaded menu greetings are kept (`<dir>/<menu>.wav`, 16 kHz mono); absent: no uploads. */
  greetingsDir?: string;
}

/** Largest greeting upload. */
export const MAX_IVR_GREETING_BYTES = 20 * 1024 * 1024;
/** Longest greeting. */
export const MAX_IVR_GREETING_MS = 5 * 60_000;

/**
 * Check an uploaded WAV (any rate 4-192 kHz, PCM16/mu-law/A-law, mono or stereo) and make it 16 kHz
 * mono. RangeError/SyntaxError say what is wrong.
 */
export function greetingFromWav(
  bytes: Uint8Array,
): { samples: Int16Array; sampleRate: number; channels: number; durationMs: number } {
  if (bytes.length > MAX_IVR_GREETING_BYTES) {
    throw new RangeError(`greeting is ${bytes.length} bytes, the limit is ${MAX_IVR_GREETING_BYTES}`);
  }
  const wav = readWav(bytes);
  if (wav.sampleRate < 4000 || wav.sampleRate > 192000) {
    throw new RangeError(`WAV sample rate ${wav.sampleRate} Hz not in 4000..192000`);
  }
  const frames = Math.floor(wav.samples.length / wav.channels);
  if (frames === 0) throw new RangeError("WAV has no audio samples");
  const mono = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < wav.channels; c++) sum += wav.samples[f * wav.channels + c]!;
    mono[f] = Math.round(sum / wav.channels);
  }
  const durationMs = Math.round(frames * 1000 / wav.sampleRate);
  if (durationMs > MAX_IVR_GREETING_MS) {
    throw new RangeError(`greeting is ${durationMs} ms long, the limit is ${MAX_IVR_GREETING_MS} ms`);
  }
  return {
    samples: resampleMono(mono, wav.sampleRate, 16000),
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    durationMs,
  };
}

/** The IVR as a feature module; `store` is exposed for the appliance and tests. */
export function ivrFeature(options: IvrFeatureOptions): FeatureModule & { store: IvrStore } {
  const store = createIvrStore(options.db);
  let claims: Claim[] | undefined;
  const numbers = () =>
    claims ??= store.list().map((m) => ({
      pattern: m.number,
      owner: { kind: "ivr" as const, id: m.number, label: `IVR menu ${m.number} "${m.name}"` },
      purpose: "auto attendant",
    }));
  const deps: IvrDeps = { store, prompts: options.prompts, log: options.log };
  if (options.runApplication) deps.runApplication = options.runApplication;
  if (options.directory) deps.directory = options.directory;
  const greetingsDir = options.greetingsDir;
  const greetingPath = (menu: string) => `${greetingsDir}/${menu}.wav`;
  if (greetingsDir !== undefined) {
    deps.greeting = async (menu) => {
      try {
        const wav = readWav(await Deno.readFile(greetingPath(menu)));
        return wav.samples;
      } catch {
        return undefined; // none uploaded (or unreadable: the text is spoken)
      }
    };
  }
  return {
    name: "ivr",
    store,
    migrations: [m061],
    numbers,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        if (match.claim.owner.kind !== "ivr") return undefined;
        return {
          steps: [{
            destination: { kind: "application", name: "ivr", args: { menu: match.claim.owner.id } },
          }],
        };
      },
    },
    applications: [ivrApplication(deps)],
    web: {
      // The auto attendant page (/ivr): menus listed, created, edited, deleted; greeting upload.
      pages: [{
        path: "/ivr",
        title: "Auto attendant",
        script: new URL("./web/ivr.js", import.meta.url),
        render: ({ html, dataTable }) =>
          html`
            <p>IVR menus: a greeting the box says (or a recording), then what each key does. Give a menu a
              number the dialplan does not use yet; call it, or point a time condition or a DID at it.</p>
            ${dataTable("ivr-table", ["Number", "Name", "Keys", ""])}
            <p id="ivr-none" hidden>No menu yet.</p>
            <form id="ivr-form" class="stack card">
              <h3>Create or edit a menu</h3>
              <label for="ivr-number">Number</label>
              <input id="ivr-number" name="number" required pattern="[0-9*#]{1,16}" inputmode="numeric"
                autocomplete="off">
              <label for="ivr-name">Name</label>
              <input id="ivr-name" name="name" required maxlength="80" autocomplete="off">
              <label for="ivr-greeting">Greeting (spoken by the box's voice)</label>
              <textarea id="ivr-greeting" name="greeting" required maxlength="1000" rows="3"></textarea>
              <label for="ivr-greeting-file">Or a recorded greeting (WAV; replaces the spoken text)</label>
              <input id="ivr-greeting-file" name="greetingFile" type="file" accept=".wav,audio/wav,audio/x-wav">
              <table class="data">
                <caption>What each key does</caption>
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Goes to</th>
                    <th scope="col">Number</th>
                  </tr>
                </thead>
                <tbody id="ivr-keys"></tbody>
              </table>
              <label for="ivr-timeout">Seconds to wait for a key</label>
              <input id="ivr-timeout" name="timeout" type="number" min="1" max="60" step="1" value="5">
              <label for="ivr-repeats">Repeats after no key or a wrong one</label>
              <input id="ivr-repeats" name="repeats" type="number" min="0" max="10" step="1" value="2">
              <p>After the last repeat: <span id="ivr-final"></span></p>
              <div
                class="buttons"><button type="submit">Save</button><button type="button" id="ivr-new" class="secondary">New menu</button></div>
            </form>
          `,
      }],
      openapi: {
        "/api/ivr/menus": {
          get: { summary: "IVR menus (admin)", responses: { 200: { description: "{menus}" } } },
        },
        "/api/ivr/menus/{number}": {
          parameters: [{ name: "number", in: "path", required: true, schema: { type: "string" } }],
          get: {
            summary: "One menu (admin)",
            responses: { 200: { description: "IvrMenu" }, 404: { description: "none" } },
          },
          put: {
            summary:
              "Create or replace a menu: {name, greeting, options: {digit: target}, timeoutMs?, repeats?, final?}",
            responses: { 200: { description: "IvrMenu" }, 400: { description: "what is wrong" } },
          },
          delete: {
            summary: "Delete a menu",
            responses: { 204: { description: "deleted" }, 404: { description: "none" } },
          },
        },
        "/api/ivr/menus/{number}/greeting": {
          parameters: [{ name: "number", in: "path", required: true, schema: { type: "string" } }],
          put: {
            summary:
              "Upload the menu's greeting (WAV of any rate, mono or stereo; played instead of the text)",
            responses: {
              200: { description: "{menu, sampleRate, channels, durationMs}" },
              400: { description: "not a usable WAV (what is wrong)" },
              404: { description: "no such menu" },
              413: { description: "too large" },
              415: { description: "not audio/wav" },
            },
          },
          delete: {
            summary: "Remove the uploaded greeting (the text is spoken again)",
            responses: { 204: { description: "removed" }, 404: { description: "none" } },
          },
        },
      },
      // Greeting uploads (up to MAX_IVR_GREETING_BYTES) are bounded by the route itself.
      uploads: ["/api/ivr/menus/"],
      routes(api: Hono<FeatureWebEnv>, kit: FeatureWebKit) {
        api.get("/ivr/menus", kit.requireAdmin, (c) => c.json({ menus: store.list() }));
        api.get("/ivr/menus/:number", kit.requireAdmin, (c) => {
          const m = store.get(c.req.param("number"));
          if (m === undefined) kit.fail(404, "no such menu");
          return c.json(m);
        });
        api.put("/ivr/menus/:number", kit.requireAdmin, async (c) => {
          const bytes = await kit.readBody(c, 64 * 1024);
          let menu: IvrMenu;
          try {
            menu = checkMenu({
              ...JSON.parse(new TextDecoder().decode(bytes)),
              number: c.req.param("number"),
            });
          } catch (e) {
            kit.fail(400, (e as Error).message);
          }
          store.put(menu);
          claims = undefined;
          kit.audit(c, "ivr.menu", menu.number);
          return c.json(menu);
        });
        api.put("/ivr/menus/:number/greeting", kit.requireAdmin, async (c) => {
          const number = c.req.param("number");
          if (store.get(number) === undefined) kit.fail(404, "no such menu");
          if (greetingsDir === undefined) kit.fail(503, "greeting uploads are not available in this build");
          const type = c.req.header("content-type") ?? "";
          if (!/^(audio\/(wav|x-wav|wave|vnd\.wave)|application\/octet-stream)\s*(;|$)/.test(type)) {
            kit.fail(
              415,
              `a greeting is a WAV file (audio/wav), got ${JSON.stringify(type.slice(0, 60) || "nothing")}`,
            );
          }
          const bytes = await kit.readBody(c, MAX_IVR_GREETING_BYTES);
          let g;
          try {
            g = greetingFromWav(bytes);
          } catch (e) {
            kit.fail(400, `not a usable WAV file: ${(e as Error).message}`);
          }
          await Deno.mkdir(greetingsDir, { recursive: true });
          const tmp = `${greetingPath(number)}.part`;
          await Deno.writeFile(tmp, writeWav({ sampleRate: 16000, channels: 1 }, g.samples));
          await Deno.rename(tmp, greetingPath(number));
          kit.audit(c, "ivr.greeting", number);
          options.log.info("ivr greeting uploaded", {
            menu: number,
            sampleRate: g.sampleRate,
            durationMs: g.durationMs,
          });
          return c.json({
            menu: number,
            sampleRate: g.sampleRate,
            channels: g.channels,
            durationMs: g.durationMs,
          });
        });
        api.delete("/ivr/menus/:number/greeting", kit.requireAdmin, async (c) => {
          const number = c.req.param("number");
          if (greetingsDir === undefined) kit.fail(404, "no uploaded greeting");
          try {
            await Deno.remove(greetingPath(number));
          } catch {
            kit.fail(404, "no uploaded greeting");
          }
          kit.audit(c, "ivr.greeting.delete", number);
          return c.body(null, 204);
        });
        api.delete("/ivr/menus/:number", kit.requireAdmin, (c) => {
          if (!store.delete(c.req.param("number"))) kit.fail(404, "no such menu");
          claims = undefined;
          kit.audit(c, "ivr.menu.delete", c.req.param("number"));
          return c.body(null, 204);
        });
      },
    },
  };
}
