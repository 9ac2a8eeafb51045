/**
 * Everyday call features as one feature module (runtime/call/feature.ts): per-extension call
 * forwarding (always, busy, no answer with its ring time), do not disturb, and time conditions
 * (business hours, holidays, a night-mode toggle) as numbers that branch. Set from phones by
 * feature codes (runtime/call/route/feature_codes.ts), from the web UI (the Call features page) and
 * the REST API (/api/callfeatures/...). See docs/dialplan.md.
 *
 * ```ts
 * const cf = callFeaturesFeature({ db, clock, log, exists, lookup, collision });
 * // features: [voicemail, cf, ...]   (after voicemail: DND takes voicemail's busy route)
 * ```
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Context, Hono } from "hono";
import type { Application, CallLeg, FeatureModule, FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import type { Claim, PlanMatch, Route } from "../../call/route/mod.ts";
import type { Clock } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";
import * as m055 from "../../storage/migrations/055_call_features.ts";
import * as m056 from "../../storage/migrations/056_time_conditions.ts";
import {
  type CallFeatureStore,
  createCallFeatureStore,
  type ExtensionFeatures,
  type FeaturesPatch,
  type TimeCondition,
  type TimeConditionMode,
} from "./store.ts";
import { checkSchedule, forwardLoop, timeConditionRoute, timeState, withForwarding } from "./routing.ts";
import { openapi } from "./openapi.ts";
import { autoAnswerHeaders } from "./intercom.ts";

export * from "./store.ts";
export * from "./routing.ts";
export * from "./intercom.ts";

/** Seconds an intercom call rings (a phone that does not auto-answer) before the caller gets 480. */
export const INTERCOM_RING_SECONDS = 20;

/** Options of `callFeaturesFeature`. */
export interface CallFeaturesOptions {
  db: DatabaseSync;
  clock: Pick<Clock, "wallNow">;
  log: Logger;
  /** Whether an extension exists. */
  exists(extension: string): boolean;
  /** Every extension number (the page lists them all); default those with features set. */
  extensions?(): string[];
  /** The number plan (forward targets and time-condition destinations must be in it). */
  lookup(number: string): PlanMatch | undefined;
  /** The owner that already holds `claim`'s number, as a message naming both, or undefined. */
  collision?(claim: Claim): string | undefined;
  /** DND changed (presence shows it; the BLF board). */
  onDnd?(extension: string, dnd: boolean): void;
  /** Forwarding or DND of an extension changed (the BLF board, live status). */
  onChange?(extension: string): void;
  /** The box's time zone (the system.time setting) for time conditions without their own. */
  timeZone?(): string | undefined;
  /** Whether an extension is on a call now (intercom never auto-answers a phone in a call). */
  inCall?(extension: string): boolean;
  /** The vendor of the phone provisioned for an extension (its auto-answer header), if known. */
  vendorOf?(extension: string): string | null | undefined;
  /** The box's SIP URI for the auto-answer headers (default `sip:pbx`). */
  boxUri?: string;
  /** What BLF watchers see of an extension (the events core): registration, away, its dialogs. */
  extensionState?(extension: string): {
    registered: boolean;
    away: boolean;
    dialogs: readonly { direction: "initiator" | "recipient"; state: string }[];
  };
}

/** An extension's state on the BLF board. */
export type BlfState = "idle" | "ringing" | "busy" | "dnd" | "away" | "offline";

/** The board state from DND and what the events core knows (dialog states as in RFC 4235). */
export function blfState(
  dnd: boolean,
  s: { registered: boolean; away: boolean; dialogs: readonly { direction: string; state: string }[] },
): BlfState {
  const live = s.dialogs.filter((d) => d.state !== "terminated");
  if (live.some((d) => d.state === "confirmed" || d.direction === "initiator")) return "busy";
  if (live.some((d) => d.direction === "recipient")) return "ringing";
  if (dnd) return "dnd";
  if (!s.registered) return "offline";
  return s.away ? "away" : "idle";
}

/** The application the feature codes run. */
export const CODE_APP = "callfeatures-code";

/** The feature codes this module answers. */
const CODES = new Set([
  "forward.on",
  "forward.to",
  "forward.off",
  "forward.busy",
  "forward.busy.off",
  "forward.noanswer",
  "forward.noanswer.off",
  "dnd.on",
  "dnd.off",
  "nightmode.toggle",
]);

/** Played after a feature code worked: two short high beeps. */
const CONFIRM_TONE = "880/150,0/100,880/150,0/100";
/** Played when a code taken after answering failed (a wrong number typed after *72). */
const REFUSED_TONE = "480+620/250,0/250";

/** An HTTP-ish refusal: status and message (the web routes answer it; the code app maps it to SIP). */
export class FeatureRefusal extends Error {
  constructor(readonly status: 400 | 403 | 404 | 409, message: string) {
    super(message);
  }
}

/** Call features as a feature module; `store` and `setFeatures` are exposed for the appliance and tests. */
export function callFeaturesFeature(options: CallFeaturesOptions): FeatureModule & {
  store: CallFeatureStore;
  setFeatures(extension: string, patch: FeaturesPatch): ExtensionFeatures;
  setMode(number: string | undefined, mode: TimeConditionMode | "toggle"): TimeCondition[];
} {
  const store = createCallFeatureStore(options.db, { clock: options.clock });
  const log = options.log;
  // An extension deleted while the box was off (or before) must not hand its forwards to a new one of
  // the same number; deletions while running are caught when its settings are next read or set.
  const pruned = store.prune(options.exists);
  if (pruned.length > 0) {
    log.info("call features of deleted extensions removed", { extensions: pruned.join(",") });
  }
  const tz = () => options.timeZone?.() ?? "UTC";

  /** Check a forward target: in the plan, not the extension itself, closing no loop. */
  const checkTarget = (extension: string, target: string, always: boolean) => {
    if (typeof target !== "string" || !/^[0-9A-Za-z*#+]{1,32}$/.test(target)) {
      throw new FeatureRefusal(
        400,
        `forward target ${JSON.stringify(String(target).slice(0, 40))} is not a number`,
      );
    }
    if (target === extension) {
      throw new FeatureRefusal(400, `extension ${extension} cannot forward to itself`);
    }
    const match = options.lookup(target);
    if (match === undefined) {
      throw new FeatureRefusal(404, `forward target ${target} is not in the number plan`);
    }
    // Forwarding every call (or every busy one) to an emergency number would flood it.
    if (match.claim.owner.kind === "outbound-route" && match.claim.owner.id === "emergency") {
      throw new FeatureRefusal(400, `forward target ${target} is an emergency number`);
    }
    if (always) {
      const loop = forwardLoop(extension, target, (e) => store.get(e).forwardAlways);
      if (loop) throw new FeatureRefusal(409, `forward loop: ${loop.join(" -> ")}`);
    }
  };

  const setFeatures = (extension: string, patch: FeaturesPatch): ExtensionFeatures => {
    if (!options.exists(extension)) throw new FeatureRefusal(404, `extension ${extension} does not exist`);
    if (patch.forwardAlways) checkTarget(extension, patch.forwardAlways, true);
    if (patch.forwardBusy) checkTarget(extension, patch.forwardBusy, false);
    if (patch.forwardNoAnswer) checkTarget(extension, patch.forwardNoAnswer, false);
    if (patch.noAnswerSeconds !== undefined && patch.noAnswerSeconds !== null) {
      const s = patch.noAnswerSeconds;
      if (!Number.isInteger(s) || s < 1 || s > 300) {
        throw new FeatureRefusal(400, `noAnswerSeconds must be 1-300, got ${JSON.stringify(s)}`);
      }
    }
    const before = store.get(extension);
    const clean: FeaturesPatch = {};
    for (const k of ["forwardAlways", "forwardBusy", "forwardNoAnswer"] as const) {
      if (patch[k] !== undefined) clean[k] = patch[k] === "" ? null : patch[k];
    }
    if (patch.noAnswerSeconds !== undefined) clean.noAnswerSeconds = patch.noAnswerSeconds;
    if (patch.dnd !== undefined) clean.dnd = patch.dnd;
    const after = store.set(extension, clean);
    log.info("call features set", {
      extension,
      forwardAlways: after.forwardAlways ?? "-",
      forwardBusy: after.forwardBusy ?? "-",
      forwardNoAnswer: after.forwardNoAnswer ?? "-",
      dnd: after.dnd,
    });
    if (before.dnd !== after.dnd) options.onDnd?.(extension, after.dnd);
    options.onChange?.(extension);
    return after;
  };

  const setMode = (number: string | undefined, mode: TimeConditionMode | "toggle"): TimeCondition[] => {
    const targets = number === undefined ? store.timeConditions() : [store.timeCondition(number)];
    if (targets.length === 0 || targets[0] === undefined) {
      throw new FeatureRefusal(
        404,
        number === undefined ? "no time conditions" : `no time condition ${number}`,
      );
    }
    const out: TimeCondition[] = [];
    for (const tc of targets as TimeCondition[]) {
      const next: TimeConditionMode = mode === "toggle" ? (tc.mode === "closed" ? "auto" : "closed") : mode;
      store.setMode(tc.number, next);
      log.info("time condition mode set", { number: tc.number, mode: next });
      out.push(store.timeCondition(tc.number)!);
    }
    return out;
  };

  const codeApp: Application<{ code: string; suffix?: string }> = {
    name: CODE_APP,
    async run(leg, args) {
      const caller = leg.info.caller;
      const refuse = (e: unknown) => {
        const status = e instanceof FeatureRefusal ? (e.status === 409 ? 403 : e.status) : 500;
        const message = (e as Error).message;
        log.info("feature code refused", {
          caller,
          dialled: leg.info.dialled,
          code: args.code,
          error: message,
        });
        leg.reject(
          status,
          `${status === 404 ? "Not Found" : status === 400 ? "Bad Request" : "Forbidden"} (${message})`,
        );
      };
      const done = async () => {
        leg.answer();
        await leg.play({ tone: CONFIRM_TONE, durationMs: 500 }).catch(() => {});
        leg.hangup(`feature code ${args.code}`);
      };
      const suffix = args.suffix ?? "";
      try {
        switch (args.code) {
          case "forward.on":
            return await forwardByDigits(leg, caller);
          case "forward.to":
            setFeatures(caller, { forwardAlways: suffix });
            break;
          case "forward.off":
            setFeatures(caller, { forwardAlways: null });
            break;
          case "forward.busy":
            setFeatures(caller, { forwardBusy: suffix });
            break;
          case "forward.busy.off":
            setFeatures(caller, { forwardBusy: null });
            break;
          case "forward.noanswer":
            setFeatures(caller, { forwardNoAnswer: suffix });
            break;
          case "forward.noanswer.off":
            setFeatures(caller, { forwardNoAnswer: null });
            break;
          case "dnd.on":
            setFeatures(caller, { dnd: true });
            break;
          case "dnd.off":
            setFeatures(caller, { dnd: false });
            break;
          case "nightmode.toggle":
            setMode(suffix === "" ? undefined : suffix, "toggle");
            break;
          default:
            throw new FeatureRefusal(404, `feature code ${args.code} is not handled here`);
        }
      } catch (e) {
        return refuse(e);
      }
      await done();
    },
  };

  // *72 alone: answer, ask for the number (DTMF, ended by #), set it or sound the refusal tone.
  const forwardByDigits = async (leg: CallLeg, caller: string) => {
    if (!options.exists(caller)) throw new FeatureRefusal(404, `extension ${caller} does not exist`);
    leg.answer();
    await leg.play({ tone: "350+440", durationMs: 300 }).catch(() => {});
    const { digits } = await leg.collect({ maxDigits: 20, timeoutMs: 10_000, terminators: "#" });
    try {
      if (digits === "") throw new FeatureRefusal(400, "no number was typed");
      setFeatures(caller, { forwardAlways: digits });
      await leg.play({ tone: CONFIRM_TONE, durationMs: 500 }).catch(() => {});
      leg.hangup("forward set");
    } catch (e) {
      log.info("feature code refused", {
        caller,
        code: "forward.on",
        typed: digits,
        error: (e as Error).message,
      });
      await leg.play({ tone: REFUSED_TONE, durationMs: 1500 }).catch(() => {});
      leg.hangup("forward refused");
    }
  };

  // *80NNN: ring NNN with its vendor's auto-answer header; never a phone already in a call.
  const intercomRoute = (target: string): Route => {
    const end = (status: number, reason: string): Route => {
      log.info("intercom refused", { target, status, reason });
      return { steps: [{ destination: { kind: "hangup", status, reason } }] };
    };
    if (!options.exists(target)) return end(404, `Not Found (intercom: ${target} is not an extension)`);
    if (options.inCall?.(target)) return end(486, `Busy Here (intercom: ${target} is on a call)`);
    if (store.get(target).dnd) return end(486, `Busy Here (intercom: ${target} is on do not disturb)`);
    const vendor = options.vendorOf?.(target);
    const headers = autoAnswerHeaders(vendor, options.boxUri ?? "sip:pbx");
    log.info("intercom", {
      target,
      vendor: vendor ?? "unknown",
      headers: headers.map((h) => h.name).join(","),
    });
    return {
      steps: [{
        destination: { kind: "extension", number: target, headers },
        ringSeconds: INTERCOM_RING_SECONDS,
        // No forwarding and no voicemail: the caller hears what the phone answered.
        on: { busy: "end", noAnswer: "end", unavailable: "end", failed: "end" },
      }],
    };
  };

  const tcClaim = (tc: Pick<TimeCondition, "number" | "name">): Claim => ({
    pattern: tc.number,
    owner: {
      kind: "time-condition",
      id: tc.number,
      label: tc.name
        ? `time condition ${tc.number} ${JSON.stringify(tc.name)}`
        : `time condition ${tc.number}`,
    },
  });
  let claims: Claim[] = store.timeConditions().map(tcClaim);
  const refreshClaims = () => (claims = store.timeConditions().map(tcClaim));

  const routes = (api: Hono<FeatureWebEnv>, kit: FeatureWebKit) => {
    const json = async (c: Context<FeatureWebEnv>): Promise<Record<string, unknown>> => {
      const bytes = await kit.readBody(c, 64 * 1024);
      try {
        const v = JSON.parse(new TextDecoder().decode(bytes));
        if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TypeError();
        return v as Record<string, unknown>;
      } catch {
        kit.fail(400, "the body must be a JSON object");
      }
    };
    const guard = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (e) {
        if (e instanceof FeatureRefusal) kit.fail(e.status, e.message);
        if (e instanceof RangeError || e instanceof TypeError) kit.fail(400, e.message);
        throw e;
      }
    };
    const own = (c: Context<FeatureWebEnv>, extension: string) => {
      const user = c.get("user");
      if (user.role !== "admin" && user.extension !== extension) {
        kit.fail(403, "a user sets only their own extension's forwarding and DND");
      }
      if (!options.exists(extension)) {
        kit.fail(404, `extension ${JSON.stringify(extension.slice(0, 40))} does not exist`);
      }
    };
    api.get("/callfeatures/extensions", (c) => {
      const user = c.get("user");
      if (user.role !== "admin") {
        return c.json({
          items: user.extension && options.exists(user.extension) ? [store.get(user.extension)] : [],
        });
      }
      const numbers = options.extensions?.() ?? store.list().map((f) => f.extension);
      return c.json({ items: numbers.map((n) => store.get(n)) });
    });
    api.get("/callfeatures/extensions/:ext", (c) => {
      const ext = c.req.param("ext");
      own(c, ext);
      return c.json(store.get(ext));
    });
    api.put("/callfeatures/extensions/:ext", async (c) => {
      const ext = c.req.param("ext");
      own(c, ext);
      const body = await json(c);
      const patch: FeaturesPatch = {};
      for (const [k, v] of Object.entries(body)) {
        if (k === "forwardAlways" || k === "forwardBusy" || k === "forwardNoAnswer") {
          if (v !== null && typeof v !== "string") kit.fail(400, `${k} must be a number (string) or null`);
          patch[k] = v === "" ? null : v as string | null;
        } else if (k === "noAnswerSeconds") {
          if (v !== null && typeof v !== "number") kit.fail(400, "noAnswerSeconds must be a number or null");
          patch.noAnswerSeconds = v as number | null;
        } else if (k === "dnd") {
          if (typeof v !== "boolean") kit.fail(400, "dnd must be true or false");
          patch.dnd = v;
        } else {
          kit.fail(400, `unknown field ${JSON.stringify(k.slice(0, 40))}`);
        }
      }
      const after = guard(() => setFeatures(ext, patch));
      kit.audit(c, "callfeatures.set", `${ext} ${Object.keys(patch).join(",")}`);
      return c.json(after);
    });

    // The dashboard's BLF board (admin): every extension's state, fetched again on each live event.
    api.get("/callfeatures/blf", kit.requireAdmin, (c) => {
      const numbers = options.extensions?.() ?? store.list().map((f) => f.extension);
      const items = numbers.map((extension) => {
        const s = options.extensionState?.(extension) ?? { registered: false, away: false, dialogs: [] };
        return { extension, state: blfState(store.get(extension).dnd, s) };
      });
      return c.json({ items });
    });

    const tcView = (tc: TimeCondition) => ({ ...tc, state: timeState(tc, options.clock.wallNow(), tz()) });
    api.use("/callfeatures/time-conditions", kit.requireAdmin);
    api.use("/callfeatures/time-conditions/*", kit.requireAdmin);
    api.get("/callfeatures/time-conditions", (c) => c.json({ items: store.timeConditions().map(tcView) }));
    api.get("/callfeatures/time-conditions/:number", (c) => {
      const tc = store.timeCondition(c.req.param("number"));
      if (tc === undefined) {
        kit.fail(404, `no time condition ${JSON.stringify(c.req.param("number").slice(0, 40))}`);
      }
      return c.json(tcView(tc));
    });
    api.put("/callfeatures/time-conditions/:number", async (c) => {
      const number = c.req.param("number");
      const body = await json(c);
      const existing = store.timeCondition(number);
      const str = (k: string, fallback?: string): string => {
        const v = body[k] ?? fallback;
        if (typeof v !== "string") kit.fail(400, `${k} must be a string`);
        return v;
      };
      if (!/^[0-9*#]{1,32}$/.test(number)) {
        kit.fail(400, `time condition number ${JSON.stringify(number.slice(0, 40))} must be digits`);
      }
      const tc: TimeCondition = {
        number,
        name: str("name", existing?.name ?? ""),
        openDestination: str("openDestination", existing?.openDestination),
        closedDestination: str("closedDestination", existing?.closedDestination),
        hours: (body.hours ?? existing?.hours ?? []) as TimeCondition["hours"],
        holidays: (body.holidays ?? existing?.holidays ?? []) as TimeCondition["holidays"],
        timeZone: (body.timeZone === undefined ? existing?.timeZone ?? null : body.timeZone) as string | null,
        mode: (body.mode ?? existing?.mode ?? "auto") as TimeConditionMode,
      };
      if (!Array.isArray(tc.hours) || !Array.isArray(tc.holidays)) {
        kit.fail(400, "hours and holidays must be arrays");
      }
      if (!["auto", "open", "closed"].includes(tc.mode)) kit.fail(400, `mode must be auto, open or closed`);
      if (tc.timeZone !== null && typeof tc.timeZone !== "string") {
        kit.fail(400, "timeZone must be a string or null");
      }
      if (existing === undefined) {
        const hit = options.collision?.(tcClaim(tc));
        if (hit !== undefined) kit.fail(409, hit);
      }
      guard(() => checkSchedule(tc));
      for (const d of [tc.openDestination, tc.closedDestination]) {
        if (d === number) kit.fail(400, `time condition ${number} cannot send calls to itself`);
        if (options.lookup(d) === undefined) {
          kit.fail(404, `destination ${JSON.stringify(d.slice(0, 40))} is not in the number plan`);
        }
      }
      store.putTimeCondition(tc);
      refreshClaims();
      kit.audit(c, "timecondition.put", number);
      return c.json(tcView(tc));
    });
    api.put("/callfeatures/time-conditions/:number/mode", async (c) => {
      const body = await json(c);
      const mode = body.mode;
      if (mode !== "auto" && mode !== "open" && mode !== "closed" && mode !== "toggle") {
        kit.fail(400, "mode must be auto, open, closed or toggle");
      }
      const [tc] = guard(() => setMode(c.req.param("number"), mode));
      kit.audit(c, "timecondition.mode", `${tc!.number} ${tc!.mode}`);
      return c.json(tcView(tc!));
    });
    api.delete("/callfeatures/time-conditions/:number", (c) => {
      const number = c.req.param("number");
      if (!store.deleteTimeCondition(number)) {
        kit.fail(404, `no time condition ${JSON.stringify(number.slice(0, 40))}`);
      }
      refreshClaims();
      kit.audit(c, "timecondition.delete", number);
      return c.json({ deleted: number });
    });
  };

  return {
    name: "callfeatures",
    store,
    setFeatures,
    setMode,
    migrations: [m055, m056],
    numbers: () => claims,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        const { owner } = match.claim;
        if (owner.kind === "feature-code" && CODES.has(owner.id)) {
          return {
            steps: [{
              destination: {
                kind: "application",
                name: CODE_APP,
                args: { code: owner.id, suffix: match.suffix },
              },
            }],
          };
        }
        if (owner.kind === "feature-code" && owner.id === "intercom") return intercomRoute(match.suffix);
        if (owner.kind === "time-condition") {
          const tc = store.timeCondition(owner.id);
          if (tc === undefined) return undefined;
          return timeConditionRoute(tc, options.clock.wallNow(), tz());
        }
        return undefined;
      },
      extensionRoute(extension, route) {
        return withForwarding(extension, route, store.get(extension));
      },
    },
    applications: [codeApp],
    web: {
      openapi,
      routes,
      pages: [{
        path: "/callfeatures",
        title: "Call features",
        admin: false,
        script: new URL("./web/callfeatures.js", import.meta.url),
        render: ({ html, dataTable, user }) =>
          html`
            <section class="card stack">
              <h2>Forwarding and do not disturb</h2>
              <p>Phones set these with feature codes too: *72NNN forward always, *73 off, *90NNN on busy, *91
                off, *52NNN on no answer, *53 off, *78 DND on, *79 off (edited codes: System, Feature codes).</p>
              ${dataTable("cf-table", [
                "Extension",
                "Forward always",
                "On busy",
                "On no answer",
                "Ring s",
                "DND",
                "",
              ])}
              <form id="cf-form" class="stack" hidden>
                <h3>Extension <span id="cf-ext"></span></h3>
                <label for="cf-always">Forward every call to (empty: off)</label>
                <input id="cf-always" name="forwardAlways" inputmode="tel" autocomplete="off">
                <label for="cf-busy">Forward when busy to</label>
                <input id="cf-busy" name="forwardBusy" inputmode="tel" autocomplete="off">
                <label for="cf-noanswer">Forward when not answered (or not registered) to</label>
                <input id="cf-noanswer" name="forwardNoAnswer" inputmode="tel" autocomplete="off">
                <label for="cf-seconds">Ring seconds before the no-answer forward (empty: box default)</label>
                <input id="cf-seconds" name="noAnswerSeconds" type="number" min="1" max="300">
                <label><input id="cf-dnd" name="dnd" type="checkbox"> Do not disturb</label>
                <div class="buttons"><button type="submit">Save</button></div>
              </form>
            </section>
            ${user.role === "admin"
              ? html`
                <section class="card stack">
                  <h2>Time conditions</h2>
                  <p>A number that sends calls to one destination in business hours and another outside them, on
                    holidays and in night mode (*28NNN toggles it from a phone).</p>
                  ${dataTable("tc-table", ["Number", "Name", "Open", "Closed", "Now", "Mode", ""])}
                  <form id="tc-form" class="stack">
                    <h3>Add or change a time condition</h3>
                    <label for="tc-number">Number</label>
                    <input id="tc-number" name="number" required inputmode="tel" autocomplete="off">
                    <label for="tc-name">Name</label>
                    <input id="tc-name" name="name" autocomplete="off">
                    <label for="tc-open">Destination while open</label>
                    <input id="tc-open" name="openDestination" required inputmode="tel" autocomplete="off">
                    <label for="tc-closed">Destination while closed</label>
                    <input id="tc-closed" name="closedDestination" required inputmode="tel" autocomplete="off">
                    <label for="tc-days">Open days (1 = Monday .. 7 = Sunday)</label>
                    <input id="tc-days" name="days" value="1,2,3,4,5" autocomplete="off">
                    <label for="tc-from">Opens</label>
                    <input id="tc-from" name="from" type="time" value="09:00">
                    <label for="tc-to">Closes</label>
                    <input id="tc-to" name="to" type="time" value="17:00">
                    <label for="tc-holidays">Holidays (YYYY-MM-DD, comma separated)</label>
                    <input id="tc-holidays" name="holidays" autocomplete="off">
                    <label for="tc-tz">Time zone (empty: the box's)</label>
                    <input id="tc-tz" name="timeZone" autocomplete="off" placeholder="Europe/Berlin">
                    <div class="buttons"><button type="submit">Save</button></div>
                  </form>
                </section>
                <section class="card stack">
                  <h2>Feature codes</h2>
                  <p>What phones dial. A code another number already holds is refused, naming both owners.</p>
                  ${dataTable("fc-table", ["Name", "Code", "Default", "What it does", ""])}
                </section>
              `
              : ""}
          `,
      }],
    },
  };
}
