/**
 * Call park as a feature module on the call engine. The park number (default 700) parks whoever
 * reaches it: a party blind-transferred there (the usual way: REFER to 700 from either party of a
 * call, which hands the transferee to this application), or a caller dialling it. The parked party
 * gets the first free slot (701-708 by default), hears the slot number and then a soft tone while it
 * waits. Dialling the slot from any phone retrieves it: the two are bridged (`calls.bridge`). A call
 * nobody retrieves within the timeout rings the extension that parked it (`leg.dial`, the parker's
 * own route); when that fails too, or there is no parker, it is hung up. Dialling an empty slot
 * answers 404 ("park slot empty").
 * @module
 */
import type { CallLeg, Calls, FeatureModule } from "../../call/mod.ts";
import type { Claim, PlanMatch, Route } from "../../call/route/mod.ts";
import type { Clock } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";

/** The prompts the announcement speaks (PromptLibrary fits: ids like "digit-7"). */
export interface ParkPrompts {
  get(id: string): Promise<{ rate16: Int16Array }>;
}

/** Options of `parkFeature`. */
export interface ParkOptions {
  /** The park number (default "700"); slots follow it: 701.. */
  number?: string;
  /** How many slots (default 8). */
  slots?: number;
  /** Time before a parked call rings its parker (default 60 s). */
  timeoutMs?: number;
  /** Ring time of the recall (default 20 s). */
  recallRingSeconds?: number;
  prompts?: ParkPrompts;
  clock: Clock;
  log: Logger;
}

/** A parked call. */
interface Parked {
  slot: string;
  leg: CallLeg;
  parker: string | undefined;
  /** Set when a retriever took it (the wait loop stops). */
  taken?: CallLeg;
  wake: () => void;
}

/** The waiting tone (soft, 1 s every 4 s) a parked party hears between announcements. */
const WAITING = "440/300,0/3700";

/** The park feature; `parked()` lists the occupied slots (for tests and the API). */
export function parkFeature(options: ParkOptions): FeatureModule & { parked(): string[] } {
  const base = options.number ?? "700";
  const count = options.slots ?? 8;
  const slotNumbers = Array.from({ length: count }, (_, i) => String(Number(base) + 1 + i));
  const slots = new Map<string, Parked>();
  const { log, clock } = options;
  let calls: Calls | undefined;

  const say = async (leg: CallLeg, ids: string[]) => {
    for (const id of ids) {
      if (options.prompts === undefined) return;
      const a = await options.prompts.get(id);
      await leg.play({ pcm: a.rate16, sampleRate: 16000 });
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
      leg.answer();
      let wake: () => void = () => {};
      const parked: Parked = { slot, leg, parker: leg.info.referredBy, wake: () => wake() };
      slots.set(slot, parked);
      log.info("call parked", { slot, caller: leg.info.caller, parker: parked.parker ?? "none" });
      const woken = new Promise<void>((r) => (wake = r));
      let timedOut = false;
      const timer = clock.setTimeout(() => {
        timedOut = true;
        parked.wake();
      }, options.timeoutMs ?? 60_000);
      try {
        await say(leg, ["digit-" + slot[0], ...[...slot.slice(1)].map((d) => `digit-${d}`)]).catch(() => {});
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
        if (parked.parker === undefined) {
          log.info("park timeout: nobody to ring back", { slot });
          leg.hangup("park timeout");
          return;
        }
        log.info("park timeout: ringing the parker", { slot, parker: parked.parker });
        const back = await leg.dial({
          kind: "extension",
          number: parked.parker,
          ringSeconds: options.recallRingSeconds ?? 20,
        });
        log.info("park recall", { slot, parker: parked.parker, outcome: back.outcome });
        if (back.outcome !== "handedOver" && back.outcome !== "cancelled") leg.hangup("park recall over");
      } catch (e) {
        log.debug("parked call ended", { slot, error: e as Error });
      } finally {
        clock.clearTimeout(timer);
        if (slots.get(slot) === parked && parked.taken === undefined) slots.delete(slot);
      }
    },
  };

  const retrieve = {
    name: "park-retrieve",
    async run(leg: CallLeg, args: { slot?: string }) {
      const parked = args.slot !== undefined ? slots.get(args.slot) : undefined;
      if (parked === undefined || parked.taken !== undefined || calls === undefined) {
        log.info("park slot empty", { slot: args.slot, caller: leg.info.caller });
        leg.reject(404, "Not Found (park slot empty)");
        return;
      }
      parked.taken = leg;
      slots.delete(parked.slot);
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

  const claims: Claim[] = [
    { pattern: base, owner: { kind: "park", id: base, label: `park ${base}` }, purpose: "park a call" },
    ...slotNumbers.map((s) => ({
      pattern: s,
      owner: { kind: "park" as const, id: s, label: `park slot ${s}` },
      purpose: "retrieve a parked call",
    })),
  ];

  return {
    name: "park",
    numbers: () => claims,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        if (match.claim.owner.kind !== "park") return undefined;
        const id = match.claim.owner.id;
        return id === base
          ? { steps: [{ destination: { kind: "application", name: "park" } }] }
          : { steps: [{ destination: { kind: "application", name: "park-retrieve", args: { slot: id } } }] };
      },
    },
    applications: [park, retrieve],
    useCalls(c) {
      calls = c;
    },
    parked: () => [...slots.keys()],
  };
}
