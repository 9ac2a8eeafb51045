/**
 * The pure part of call features: how forwarding and DND rewrite an extension's route, the forward
 * loop check made when a forward is set, and whether a time condition is open at an instant.
 * @module
 */
import type { Continuation, Route, Step } from "../../call/route/mod.ts";
import type { ExtensionFeatures, TimeCondition } from "./store.ts";

const dial = (number: string): Step => ({ destination: { kind: "dial", number } });

/** The continuation a busy ring step of `extension` already has (voicemail's busy greeting), if any. */
function busyContinuation(extension: string, route: Route): Continuation | undefined {
  const step = route.steps.find((s) =>
    s.destination.kind === "extension" && s.destination.number === extension
  );
  return step?.on?.busy;
}

/**
 * Apply `f` to an extension's route (run after voicemail's rewrite, so its continuations are seen):
 *
 * - forward always: the route is replaced by "dial the target" (the target's own route follows,
 *   with the dialplan's hop limit and visited set),
 * - DND: the extension does not ring; the call takes its busy route at once: the busy forward,
 *   else the busy continuation already there (voicemail's busy greeting), else 486,
 * - forward busy / no answer: the ring step's `busy` / `noAnswer` and `unavailable` continuations
 *   dial the target (replacing voicemail's), and the no-answer ring time applies.
 */
export function withForwarding(extension: string, route: Route, f: ExtensionFeatures): Route {
  if (f.forwardAlways !== null) return { steps: [dial(f.forwardAlways)] };
  if (f.dnd) {
    if (f.forwardBusy !== null) return { steps: [dial(f.forwardBusy)] };
    const busy = busyContinuation(extension, route);
    if (busy !== undefined && typeof busy === "object") {
      return "dial" in busy ? { steps: [dial(busy.dial)] } : { steps: busy.steps };
    }
    return {
      steps: [{ destination: { kind: "hangup", status: 486, reason: "Busy Here (do not disturb)" } }],
    };
  }
  if (f.forwardBusy === null && f.forwardNoAnswer === null) return route;
  const steps = route.steps.map((s): Step => {
    if (s.destination.kind !== "extension" || s.destination.number !== extension) return s;
    const on = { ...s.on };
    if (f.forwardBusy !== null) on.busy = { dial: f.forwardBusy };
    if (f.forwardNoAnswer !== null) {
      on.noAnswer = { dial: f.forwardNoAnswer };
      on.unavailable = { dial: f.forwardNoAnswer };
    }
    const ring = f.forwardNoAnswer !== null && f.noAnswerSeconds !== null
      ? { ringSeconds: f.noAnswerSeconds }
      : {};
    return { ...s, ...ring, on };
  });
  return { steps };
}

/**
 * The loop a new unconditional forward `extension -> target` would close, following the other
 * extensions' unconditional forwards (`extension -> target -> ... -> extension`), or undefined.
 */
export function forwardLoop(
  extension: string,
  target: string,
  forwardOf: (extension: string) => string | null,
): string[] | undefined {
  const chain = [extension, target];
  const seen = new Set(chain);
  for (let at = target; at !== extension;) {
    const hop = forwardOf(at);
    if (hop === null) return undefined;
    chain.push(hop);
    if (hop === extension) return chain;
    if (seen.has(hop)) return undefined; // a loop among the others, which the dialplan ends with 482
    seen.add(hop);
    at = hop;
  }
  return chain; // forwarded to itself
}

const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

/** Check a time condition's hours and holidays; RangeError naming the bad value. */
export function checkSchedule(tc: Pick<TimeCondition, "hours" | "holidays" | "timeZone">): void {
  for (const [i, p] of tc.hours.entries()) {
    if (
      !Array.isArray(p.days) || p.days.length === 0 ||
      p.days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)
    ) {
      throw new RangeError(
        `hours[${i}].days must list days 1 (Monday) to 7 (Sunday), got ${JSON.stringify(p.days)}`,
      );
    }
    if (!HHMM.test(p.from)) {
      throw new RangeError(`hours[${i}].from must be HH:MM, got ${JSON.stringify(p.from)}`);
    }
    if (!HHMM.test(p.to)) throw new RangeError(`hours[${i}].to must be HH:MM, got ${JSON.stringify(p.to)}`);
    if (p.from >= p.to) throw new RangeError(`hours[${i}]: from ${p.from} is not before to ${p.to}`);
  }
  for (const [i, h] of tc.holidays.entries()) {
    if (!DATE.test(h.date)) {
      throw new RangeError(`holidays[${i}].date must be YYYY-MM-DD, got ${JSON.stringify(h.date)}`);
    }
  }
  if (tc.timeZone !== null) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tc.timeZone });
    } catch {
      throw new RangeError(`unknown time zone ${JSON.stringify(tc.timeZone)}`);
    }
  }
}

/** Local date, ISO weekday (1 = Monday) and `HH:MM` of `epochMs` in `timeZone`. */
export function localTime(
  epochMs: number,
  timeZone: string,
): { date: string; weekday: number; time: string } {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    weekday: "short",
    hourCycle: "h23",
  }).formatToParts(new Date(epochMs));
  const part = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(part("weekday")) + 1;
  return {
    date: `${part("year")}-${part("month")}-${part("day")}`,
    weekday,
    time: `${part("hour")}:${part("minute")}`,
  };
}

/** Why a time condition is open or closed right now. */
export interface TimeState {
  open: boolean;
  why: "night mode" | "forced open" | "holiday" | "in hours" | "out of hours";
  holiday?: string;
}

/** Whether `tc` is open at `epochMs` (its own time zone, else `defaultTimeZone`). */
export function timeState(tc: TimeCondition, epochMs: number, defaultTimeZone = "UTC"): TimeState {
  if (tc.mode === "closed") return { open: false, why: "night mode" };
  if (tc.mode === "open") return { open: true, why: "forced open" };
  const now = localTime(epochMs, tc.timeZone ?? defaultTimeZone);
  const holiday = tc.holidays.find((h) => h.date === now.date);
  if (holiday !== undefined) {
    return { open: false, why: "holiday", ...(holiday.name ? { holiday: holiday.name } : {}) };
  }
  const open = tc.hours.some((p) => p.days.includes(now.weekday) && now.time >= p.from && now.time < p.to);
  return { open, why: open ? "in hours" : "out of hours" };
}

/** The route of a time condition at `epochMs`: dial its open or its closed destination. */
export function timeConditionRoute(tc: TimeCondition, epochMs: number, defaultTimeZone = "UTC"): Route {
  const s = timeState(tc, epochMs, defaultTimeZone);
  return { steps: [dial(s.open ? tc.openDestination : tc.closedDestination)] };
}
