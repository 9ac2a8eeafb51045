/**
 * The queue's live state (waiting callers, agents' states, wrap-up, round-robin memory) and its
 * applications: `queue` (a caller waits with music, hears their position and estimated wait, may
 * press the exit digit, and overflows on max wait or when no agents are left) and `queue-agent`
 * (agents log in/out and pause by feature code).
 *
 * Ringing an agent and bridging the caller is the `connect` step: the feature module fills it with
 * the call engine's `calls.originate` + `calls.bridge` (mod.ts). Without it (a test, or no calls
 * API) callers wait (logged once per call) until the exit digit, max wait or leave-when-empty moves
 * them on. With it the head of the queue rings agents in strategy order.
 * @module
 */
import type { CallLeg } from "../../call/mod.ts";
import type { Clock } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { numberWords } from "../../media/prompts/mod.ts";
import { type AgentState, chooseAgents } from "./strategy.ts";
import type { QueueConfig, QueueOutcome, QueueStore, QueueTarget } from "./store.ts";

/** How an attempt to reach an agent ended (the `connect` seam). */
export type ConnectResult =
  /**
   * The agent answered: `join` bridges the caller to it once the caller's music has stopped; `ended`
   * settles when either side has hung up (the other is hung up then).
   */
  | { outcome: "answered"; ended: Promise<void>; join?(): Promise<void> }
  | { outcome: "no-answer" | "busy" | "failed" };

/** How a callback attempt ended (the `callBack` seam). */
export type CallbackResult =
  /** Agent and caller answered and talk; `ended` settles when the call is over. */
  | { outcome: "answered"; ended: Promise<void> }
  /** The agent did not take it: the next agent is tried. */
  | { outcome: "no-answer" | "busy" | "failed" }
  /** The agent answered but the caller did not: an attempt used up. */
  | { outcome: "caller-no-answer" };

/** What the queue needs from the rest of the box. */
export interface QueueDeps {
  store: QueueStore;
  clock: Clock;
  log: Logger;
  prompts: { say(text: string): Promise<{ rate16: Int16Array }> };
  /** One round of music on hold into the leg (resolves when it ends or is stopped). */
  holdMusic?(leg: CallLeg): Promise<void>;
  /** Run another application on the leg (overflow, exit digit: voicemail, IVR). */
  runApplication?(name: string, leg: CallLeg, args: Record<string, unknown>): Promise<void>;
  /** Whether an extension is on a call now (busy agents are skipped). */
  isBusy?(extension: string): boolean;
  /** Whether an extension is on do-not-disturb (never rung). */
  isDnd?(extension: string): boolean;
  /**
   * Ring `agent` for `ringMs`; when it answers, the result's `join` bridges the caller's leg to it
   * (the feature module does this with the calls API); absent: agents are not rung.
   */
  connect?(agent: string, leg: CallLeg, options: { ringMs: number; queue: string }): Promise<ConnectResult>;
  /**
   * A callback: ring `agent` first; when it answers, call `caller` back (calls.originate) and
   * bridge the two. Absent: callbacks are not offered (the digit is ignored, logged).
   */
  callBack?(
    agent: string,
    caller: string,
    options: { ringMs: number; queue: string },
  ): Promise<CallbackResult>;
}

/** An agent on the wallboard. */
export interface AgentView {
  extension: string;
  static: boolean;
  state: "free" | "paused" | "busy" | "wrap-up" | "logged-out" | "dnd";
  callsToday: number;
}

/** A queue's wallboard. */
export interface Wallboard {
  queue: string;
  name: string;
  strategy: string;
  waiting: number;
  longestWaitMs: number;
  /** Waiting callers in order; `callback`: left the call, to be called back (place kept). */
  callers: { caller: string; position: number; waitMs: number; callback: boolean }[];
  agents: AgentView[];
  answeredToday: number;
  abandonedToday: number;
}

interface Waiter {
  id: number;
  caller: string;
  joinedAt: number;
  /** A callback waiter: not on the line; `notBefore` holds it back after an unanswered attempt. */
  callback?: { notBefore: number };
}

const DAY = 86_400_000;

/** The queues' live state. */
export class QueueRuntime {
  readonly deps: QueueDeps;
  #waiting = new Map<string, Waiter[]>();
  #lastRung = new Map<string, string>();
  #wrapUp = new Map<string, number>();
  #lastEnded = new Map<string, number>();
  #listeners = new Set<() => void>();
  #next = 1;
  #background = new Set<Promise<void>>();

  constructor(deps: QueueDeps) {
    this.deps = deps;
  }

  onChange(l: () => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  changed(): void {
    for (const l of [...this.#listeners]) {
      try {
        l();
      } catch (e) {
        this.deps.log.warn("queue change listener failed", { error: e as Error });
      }
    }
  }

  /** Agents' states for the strategies. */
  agentStates(queue: string): AgentState[] {
    const now = this.deps.clock.wallNow();
    const counts = this.deps.store.answeredSince(queue, now - (now % DAY));
    return this.deps.store.agents(queue).map((a, order) => ({
      extension: a.extension,
      order,
      loggedIn: a.loggedIn,
      paused: a.paused,
      busy: this.deps.isBusy?.(a.extension) ?? false,
      dnd: this.deps.isDnd?.(a.extension) ?? false,
      wrapUpUntil: this.#wrapUp.get(`${queue}|${a.extension}`) ?? 0,
      lastCallEndedAt: this.#lastEnded.get(`${queue}|${a.extension}`) ?? null,
      callsToday: counts.get(a.extension) ?? 0,
    }));
  }

  /** Whether any agent is logged in (paused ones count: they may come back). */
  hasAgents(queue: string): boolean {
    return this.deps.store.agents(queue).some((a) => a.loggedIn);
  }

  join(queue: string, caller: string): Waiter {
    const w = { id: this.#next++, caller, joinedAt: this.deps.clock.wallNow() };
    const list = this.#waiting.get(queue) ?? [];
    list.push(w);
    this.#waiting.set(queue, list);
    this.changed();
    return w;
  }

  leave(queue: string, w: Waiter): void {
    const list = this.#waiting.get(queue) ?? [];
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    this.changed();
  }

  /**
   * Whether `w` is the caller to serve next: the first in the queue's order that is ready (a
   * callback waiting out its retry pause is passed over meanwhile, and keeps its place).
   */
  isNext(queue: string, w: Waiter): boolean {
    const now = this.deps.clock.wallNow();
    const first = (this.#waiting.get(queue) ?? []).find((x) =>
      x.callback === undefined || x.callback.notBefore <= now
    );
    return first === w;
  }

  /** Keep a background task (a callback) until it settles; `settled()` waits for them all. */
  track(p: Promise<void>): void {
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  /** Resolves when every background task (callbacks) has ended. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /** 1-based position, 0 when not waiting. */
  position(queue: string, w: Waiter): number {
    return (this.#waiting.get(queue) ?? []).indexOf(w) + 1;
  }

  /** Mark an agent rung (round-robin memory). */
  rang(queue: string, agent: string): void {
    this.#lastRung.set(queue, agent);
  }

  lastRung(queue: string): string | undefined {
    return this.#lastRung.get(queue);
  }

  /** A queue call with an agent ended: wrap-up starts. */
  agentDone(q: QueueConfig, agent: string): void {
    const now = this.deps.clock.wallNow();
    this.#lastEnded.set(`${q.number}|${agent}`, now);
    this.#wrapUp.set(`${q.number}|${agent}`, now + q.wrapUpMs);
    this.changed();
  }

  /** Log in/out or pause an agent; static members cannot log out. Returns the new row. */
  setAgent(queue: string, extension: string, change: { loggedIn?: boolean; paused?: boolean }) {
    const cur = this.deps.store.agents(queue).find((a) => a.extension === extension);
    if (change.loggedIn === false && cur?.static) {
      throw new RangeError(`${extension} is a static member of ${queue}`);
    }
    if (cur === undefined && change.loggedIn !== true) {
      throw new RangeError(`${extension} is not an agent of ${queue}`);
    }
    const row = {
      queue,
      extension,
      static: cur?.static ?? false,
      loggedIn: change.loggedIn ?? cur?.loggedIn ?? false,
      paused: change.loggedIn === true && cur?.loggedIn !== true
        ? false
        : change.paused ?? cur?.paused ?? false,
      since: this.deps.clock.wallNow(),
    };
    if (!row.loggedIn && !row.static) this.deps.store.removeAgent(queue, extension);
    else this.deps.store.setAgent(row);
    this.deps.log.info("queue agent", {
      queue,
      agent: extension,
      loggedIn: row.loggedIn,
      paused: row.paused,
    });
    this.changed();
    return row;
  }

  /** The wallboard of a queue. */
  wallboard(q: QueueConfig): Wallboard {
    const now = this.deps.clock.wallNow();
    const callers = (this.#waiting.get(q.number) ?? []).map((w, i) => ({
      caller: w.caller,
      position: i + 1,
      waitMs: now - w.joinedAt,
      callback: w.callback !== undefined,
    }));
    const today = this.deps.store.stats(q.number, now - (now % DAY), now + 1)[0];
    const rows = this.deps.store.agents(q.number);
    return {
      queue: q.number,
      name: q.name,
      strategy: q.strategy,
      waiting: callers.length,
      longestWaitMs: callers.reduce((m, c) => Math.max(m, c.waitMs), 0),
      callers,
      agents: this.agentStates(q.number).map((a, i) => ({
        extension: a.extension,
        static: rows[i]?.static ?? false,
        callsToday: a.callsToday,
        state: !a.loggedIn
          ? "logged-out"
          : a.paused
          ? "paused"
          : a.busy
          ? "busy"
          : a.dnd
          ? "dnd"
          : a.wrapUpUntil > now
          ? "wrap-up"
          : "free",
      })),
      answeredToday: today?.answered ?? 0,
      abandonedToday: today?.abandoned ?? 0,
    };
  }
}

/** Answer and wait until the call is up (as voicemail's `answerAndWait`). */
export async function answerAndWait(leg: CallLeg): Promise<boolean> {
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

/** The `queue` application (args `{queue}`) and `queue-agent` (args `{action, queue?}`). */
export function queueApplications(rt: QueueRuntime) {
  const { store, log, clock } = rt.deps;
  const say = async (leg: CallLeg, text: string) => {
    try {
      const a = await rt.deps.prompts.say(text);
      await leg.play({ pcm: a.rate16, sampleRate: 16000 });
    } catch (e) {
      log.debug("queue prompt not played", { text, error: e as Error });
    }
  };
  const goTo = async (leg: CallLeg, target: QueueTarget | undefined, why: string) => {
    if (target?.kind === "application" && rt.deps.runApplication) {
      log.info("queue: caller moved on", { caller: leg.info.caller, why, to: target.name });
      await rt.deps.runApplication(target.name, leg, target.args ?? {});
      return;
    }
    await say(leg, "Thank you for calling. Goodbye.");
    leg.hangup(`queue ${why}`);
  };

  /**
   * A callback waiter's turn: when it is next and an agent is free, ring the agents in strategy
   * order (the callBack seam rings the agent, then the caller); an attempt the caller does not
   * answer waits `callbackRetryMs` (others go first meanwhile) and is tried again, up to
   * `callbackRetries` times, then given up (logged, counted as abandoned).
   */
  const callbackLoop = async (q: QueueConfig, me: Waiter, rowId: number): Promise<void> => {
    const callBack = rt.deps.callBack!;
    let attempts = 0;
    try {
      for (;;) {
        const cur = store.get(q.number);
        if (cur === undefined) {
          log.warn("queue: callback dropped, the queue was deleted", { queue: q.number, caller: me.caller });
          return;
        }
        if (rt.isNext(q.number, me)) {
          const order = chooseAgents(cur.strategy, rt.agentStates(q.number), {
            now: clock.wallNow(),
            lastRung: rt.lastRung(q.number),
          });
          let callerMissed = false;
          for (const a of order) {
            rt.rang(q.number, a);
            log.info("queue: callback, ringing the agent first", {
              queue: q.number,
              caller: me.caller,
              agent: a,
              attempt: attempts + 1,
            });
            const r = await callBack(a, me.caller, { ringMs: cur.ringMs, queue: q.number });
            if (r.outcome === "answered") {
              const waitMs = clock.wallNow() - me.joinedAt;
              rt.leave(q.number, me);
              log.info("queue: callback answered", { queue: q.number, caller: me.caller, agent: a, waitMs });
              await r.ended;
              rt.agentDone(cur, a);
              store.ended(rowId, { at: clock.wallNow(), outcome: "answered", agent: a, waitMs });
              log.info("queue: caller left", {
                queue: q.number,
                caller: me.caller,
                outcome: "answered",
                waitMs,
              });
              rt.changed();
              return;
            }
            if (r.outcome === "caller-no-answer") {
              callerMissed = true;
              break;
            }
          }
          if (callerMissed) {
            attempts++;
            if (attempts > cur.callbackRetries) {
              rt.leave(q.number, me);
              const waitMs = clock.wallNow() - me.joinedAt;
              store.ended(rowId, { at: clock.wallNow(), outcome: "callback-failed", waitMs });
              log.warn("queue: callback not answered, given up", {
                queue: q.number,
                caller: me.caller,
                attempts,
              });
              rt.changed();
              return;
            }
            me.callback = { notBefore: clock.wallNow() + cur.callbackRetryMs };
            log.info("queue: callback not answered, will try again", {
              queue: q.number,
              caller: me.caller,
              attempt: attempts,
              inMs: cur.callbackRetryMs,
            });
            rt.changed();
          }
        }
        await new Promise<void>((r) => clock.setTimeout(r, 1000));
      }
    } catch (e) {
      rt.leave(q.number, me);
      log.error("queue: callback failed", { queue: q.number, caller: me.caller, error: e as Error });
    }
  };

  const queueApp = {
    name: "queue",
    async run(leg: CallLeg, args: { queue?: string }) {
      const q = args.queue !== undefined ? store.get(args.queue) : undefined;
      if (q === undefined) {
        log.warn("queue: no such queue", { queue: args.queue });
        leg.reject(404, "Not Found (no such queue)");
        return;
      }
      const joinedAt = clock.wallNow();
      if (!q.joinEmpty && !rt.hasAgents(q.number)) {
        log.info("queue: no agents, caller not queued", { queue: q.number, caller: leg.info.caller });
        const id = store.joined(q.number, leg.info.caller, joinedAt);
        store.ended(id, { at: joinedAt, outcome: "empty", waitMs: 0 });
        if (q.overflow.kind === "application") return await goTo(leg, q.overflow, "empty");
        leg.reject(480, "Temporarily Unavailable (no queue agents)");
        return;
      }
      if (!await answerAndWait(leg)) return;
      const rowId = store.joined(q.number, leg.info.caller, joinedAt);
      const me = rt.join(q.number, leg.info.caller);
      log.info("queue: caller joined", {
        queue: q.number,
        caller: leg.info.caller,
        position: rt.position(q.number, me),
      });
      let outcome: QueueOutcome | "callback" | undefined;
      let agent: string | undefined;
      let resolveDone: () => void = () => {};
      const done = new Promise<void>((r) => (resolveDone = r));
      /** When the wait ended (an agent answered, or the caller moved on). */
      let waitedUntil = joinedAt;
      /** The call with the agent, once one answered; wrap-up starts when it ends. */
      let talk: Promise<void> | undefined;
      const finish = (o: QueueOutcome | "callback") => {
        if (outcome !== undefined) return;
        outcome = o;
        waitedUntil = clock.wallNow();
        resolveDone();
        void leg.stopPlay().catch(() => {});
      };
      let announce = true;
      const offLeg = leg.on((ev) => {
        if (ev.type === "hangup") finish("abandoned");
        else if (ev.type === "dtmf" && q.exitDigit !== undefined && ev.digit === q.exitDigit) finish("exit");
        else if (ev.type === "dtmf" && q.callbackDigit !== undefined && ev.digit === q.callbackDigit) {
          if (rt.deps.callBack === undefined) {
            log.warn("queue: callback asked for but agents cannot be rung; the caller waits", {
              queue: q.number,
              caller: leg.info.caller,
            });
          } else finish("callback");
        }
      });
      const maxTimer = clock.setTimeout(() => finish("timeout"), q.maxWaitMs);
      let announceTimer: number | undefined;
      const scheduleAnnounce = () => {
        if (q.announceEveryMs <= 0) return;
        announceTimer = clock.setTimeout(() => {
          announce = true;
          void leg.stopPlay().catch(() => {});
          scheduleAnnounce();
        }, q.announceEveryMs);
      };
      scheduleAnnounce();
      const offRt = rt.onChange(() => {
        if (q.leaveWhenEmpty && !rt.hasAgents(q.number)) finish("empty");
      });
      // Music and announcements until something moves the caller on.
      const music = (async () => {
        while (outcome === undefined) {
          if (announce) {
            announce = false;
            const pos = rt.position(q.number, me);
            const today = store.stats(q.number, joinedAt - (joinedAt % DAY), joinedAt + DAY)[0];
            const est = today !== undefined && today.answered > 0
              ? Math.ceil(today.averageWaitMs * pos / 60_000)
              : 0;
            await say(
              leg,
              `You are caller number ${numberWords(pos)}.` +
                (est > 0
                  ? ` Your estimated wait is about ${numberWords(est)} minute${est === 1 ? "" : "s"}.`
                  : ""),
            );
            continue;
          }
          try {
            if (rt.deps.holdMusic) await rt.deps.holdMusic(leg);
            else await leg.play({ tone: "!440/300,!0/1700", durationMs: 2000 });
          } catch {
            if (outcome === undefined) finish("abandoned");
          }
        }
      })();
      // Ringing agents (the connect step: originate + bridge).
      let join: (() => Promise<void>) | undefined;
      const ringing = (async () => {
        if (rt.deps.connect === undefined) {
          log.warn(
            "queue: agents cannot be rung (no call-control API); the caller waits",
            {
              queue: q.number,
              caller: leg.info.caller,
            },
          );
          return;
        }
        while (outcome === undefined) {
          if (rt.isNext(q.number, me)) {
            const order = chooseAgents(q.strategy, rt.agentStates(q.number), {
              now: clock.wallNow(),
              lastRung: rt.lastRung(q.number),
            });
            for (const a of order) {
              if (outcome !== undefined) break;
              rt.rang(q.number, a);
              const r = await rt.deps.connect(a, leg, { ringMs: q.ringMs, queue: q.number });
              if (r.outcome === "answered" && outcome === undefined) {
                agent = a;
                join = r.join;
                talk = r.ended.then(() => rt.agentDone(q, a));
                finish("answered"); // the music stops; the caller now talks to the agent
                return;
              }
            }
          }
          await new Promise<void>((r) => clock.setTimeout(r, 1000));
        }
      })();
      await done;
      clock.clearTimeout(maxTimer);
      if (announceTimer !== undefined) clock.clearTimeout(announceTimer);
      offRt();
      offLeg();
      if (outcome === "callback") {
        // The caller keeps their place; the call ends and the box calls back when it is their turn.
        me.callback = { notBefore: 0 };
        rt.changed();
        await music;
        log.info("queue: caller asked for a callback", {
          queue: q.number,
          caller: leg.info.caller,
          position: rt.position(q.number, me),
        });
        rt.track(callbackLoop(q, me, rowId));
        await say(leg, "Thank you. You keep your place in the queue and will be called back. Goodbye.");
        leg.hangup("queue callback requested");
        return;
      }
      rt.leave(q.number, me);
      await music;
      if (join !== undefined) {
        try {
          await join(); // the music has stopped: now the caller talks to the agent
        } catch (e) {
          log.warn("queue: bridging the caller to the agent failed", {
            queue: q.number,
            agent,
            error: e as Error,
          });
          leg.hangup("queue bridge failed");
        }
      }
      const waitMs = waitedUntil - joinedAt;
      if (talk !== undefined) await talk;
      const final: QueueOutcome = outcome ?? "abandoned";
      store.ended(rowId, {
        at: clock.wallNow(),
        outcome: final,
        waitMs,
        ...(agent ? { agent } : {}),
      });
      log.info("queue: caller left", { queue: q.number, caller: leg.info.caller, outcome, waitMs });
      rt.changed();
      void ringing;
      if (outcome === "exit") await goTo(leg, q.exitTarget, "exit digit");
      else if (outcome === "timeout" || outcome === "empty") await goTo(leg, q.overflow, outcome);
      else if (outcome === "answered") leg.hangup("queue call done");
    },
  };

  const agentApp = {
    name: "queue-agent",
    async run(leg: CallLeg, args: { action?: "login" | "pause"; queue?: string }) {
      const ext = leg.info.caller;
      const queues = args.queue ? [args.queue] : store.queuesOf(ext);
      if (args.queue && store.get(args.queue) === undefined) {
        log.warn("queue agent: no such queue", { queue: args.queue, agent: ext });
        leg.reject(404, "Not Found (no such queue)");
        return;
      }
      if (!await answerAndWait(leg)) return;
      const said: string[] = [];
      for (const qn of queues) {
        const cur = store.agents(qn).find((a) => a.extension === ext);
        try {
          if (args.action === "pause") {
            if (cur === undefined) throw new RangeError(`${ext} is not an agent of ${qn}`);
            const r = rt.setAgent(qn, ext, { paused: !cur.paused });
            said.push(`${r.paused ? "Paused" : "Unpaused"} in queue ${qn}.`);
          } else {
            if (cur?.static) {
              said.push(`You are a permanent member of queue ${qn}.`);
              continue;
            }
            const r = rt.setAgent(qn, ext, { loggedIn: !(cur?.loggedIn ?? false) });
            said.push(`${r.loggedIn ? "Logged in to" : "Logged out of"} queue ${qn}.`);
          }
        } catch (e) {
          log.warn("queue agent change refused", { queue: qn, agent: ext, error: e as Error });
        }
      }
      await say(leg, said.length > 0 ? said.join(" ") : "You are not an agent of any queue.");
      leg.hangup("queue agent done");
    },
  };
  return [queueApp, agentApp];
}
