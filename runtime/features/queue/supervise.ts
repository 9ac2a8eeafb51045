/**
 * Supervisor listen, whisper and barge into an agent's queue call, on the call engine's mixing
 * rooms (`CallLeg.joinMix`, the media worker's mix) with the per-participant masks the engine
 * gives: `muteInMix` (nobody hears a muted leg) and `calls.hearOnly` (whom a leg hears).
 *
 * - listen: the supervisor hears caller and agent and is muted (nobody hears them);
 * - whisper: the agent hears the caller and the supervisor; the caller hears only the agent;
 * - barge: the three hear each other.
 *
 * The caller and the agent leave their two-party bridge for a room of three while the supervisor
 * is in; when the supervisor hangs up (or is taken out) they are bridged again. The caller or the
 * agent hanging up ends the supervisor's call too. Only the queue's `supervisors` may do it.
 * @module
 */
import type { CallLeg, Calls } from "../../call/mod.ts";
import type { Logger } from "../../log/mod.ts";

/** How a supervisor takes part. */
export type SuperviseMode = "listen" | "whisper" | "barge";
export const SUPERVISE_MODES: readonly SuperviseMode[] = ["listen", "whisper", "barge"];

/** An agent's live queue call. */
interface LiveCall {
  queue: string;
  agent: string;
  caller: CallLeg;
  agentLeg: CallLeg;
  session?: Session | undefined;
  /** The call is over (unregistered): nothing to bridge again. */
  over?: boolean;
}

interface Session {
  supervisor: string;
  leg: CallLeg;
  room: string;
  mode: SuperviseMode;
  /** Ends the session (the supervisor is hung up; caller and agent bridged again). */
  stop(): void;
}

/** Why a supervision was refused (`status` for SIP and HTTP alike). */
export class SuperviseRefused extends Error {
  constructor(readonly status: 403 | 404 | 409, message: string) {
    super(message);
  }
}

/** The live queue calls and their supervisors. */
export class Supervision {
  #live = new Map<string, LiveCall>();
  #next = 1;

  constructor(
    private readonly o: {
      log: Logger;
      calls: () => Calls | undefined;
      supervisorsOf: (queue: string) => readonly string[] | undefined;
      /** Something the wallboard shows changed (a call, a supervisor, a mode). */
      changed?: () => void;
    },
  ) {}

  /** A queue call between `caller` and `agentLeg` is bridged; returns the function that forgets it. */
  register(queue: string, agent: string, caller: CallLeg, agentLeg: CallLeg): () => void {
    const live: LiveCall = { queue, agent, caller, agentLeg };
    this.#live.set(agent, live);
    this.o.changed?.();
    return () => {
      if (this.#live.get(agent) === live) this.#live.delete(agent);
      live.over = true;
      live.session?.stop();
      this.o.changed?.();
    };
  }

  /** The agent's live call: its queue and supervisor (for the wallboard, the API). */
  callOf(agent: string): { queue: string; supervisor?: string; mode?: SuperviseMode } | undefined {
    const l = this.#live.get(agent);
    if (l === undefined) return undefined;
    return {
      queue: l.queue,
      ...(l.session ? { supervisor: l.session.supervisor, mode: l.session.mode } : {}),
    };
  }

  /** Throw SuperviseRefused unless `supervisor` may supervise `agent` now. */
  check(supervisor: string, agent: string, queue?: string): void {
    const l = this.#live.get(agent);
    if (l === undefined || (queue !== undefined && l.queue !== queue)) {
      throw new SuperviseRefused(404, `agent ${agent} is not on a queue call`);
    }
    if (!(this.o.supervisorsOf(l.queue) ?? []).includes(supervisor)) {
      throw new SuperviseRefused(403, `${supervisor} is not a supervisor of queue ${l.queue}`);
    }
    if (l.session !== undefined) {
      throw new SuperviseRefused(409, `agent ${agent}'s call is supervised by ${l.session.supervisor}`);
    }
  }

  /**
   * The supervisor's answered leg joins the agent's call in `mode`; resolves when the supervision
   * is over (the supervisor hung up, was taken out, or the call ended: then the supervisor is hung
   * up). The supervisor's DTMF 1/2/3 switch to listen/whisper/barge.
   */
  async supervise(leg: CallLeg, supervisor: string, agent: string, mode: SuperviseMode): Promise<void> {
    this.check(supervisor, agent);
    const l = this.#live.get(agent)!;
    const calls = this.o.calls();
    if (calls === undefined || !leg.joinMix || !l.caller.joinMix || !l.agentLeg.joinMix) {
      throw new SuperviseRefused(409, "mixing is not available");
    }
    const room = `queue-supervise-${agent}-${this.#next++}`;
    let stop: () => void = () => {};
    const stopped = new Promise<void>((r) => (stop = r));
    const session: Session = { supervisor, leg, room, mode, stop: () => stop() };
    l.session = session;
    const log = this.o.log;
    try {
      await l.caller.joinMix(room, { sampleRate: 16000 });
      await l.agentLeg.joinMix(room);
      await leg.joinMix(room);
      await this.#apply(l, session, mode);
    } catch (e) {
      l.session = undefined;
      await this.#restore(l);
      throw e;
    }
    log.info("queue: supervisor joined", { queue: l.queue, agent, supervisor, mode });
    this.o.changed?.();
    const offDtmf = leg.on((ev) => {
      if (ev.type !== "dtmf") return;
      const next = ({ "1": "listen", "2": "whisper", "3": "barge" } as const)[ev.digit as "1" | "2" | "3"];
      if (next !== undefined) void this.setMode(agent, next).catch(() => {});
    });
    const why = await Promise.race([
      leg.ended.then(() => "supervisor" as const),
      l.caller.ended.then(() => "call" as const),
      l.agentLeg.ended.then(() => "call" as const),
      stopped.then(() => "stopped" as const),
    ]);
    offDtmf();
    l.session = undefined;
    log.info("queue: supervisor left", { queue: l.queue, agent, supervisor, why });
    this.o.changed?.();
    if (why !== "supervisor") leg.hangup(why === "call" ? "the supervised call ended" : "supervision ended");
    if (why !== "call" && l.over !== true) await this.#restore(l);
  }

  /** Switch the running supervision of `agent`'s call to `mode`. */
  async setMode(agent: string, mode: SuperviseMode): Promise<void> {
    const l = this.#live.get(agent);
    if (l?.session === undefined) throw new SuperviseRefused(404, `agent ${agent}'s call is not supervised`);
    await this.#apply(l, l.session, mode);
    this.o.changed?.();
    this.o.log.info("queue: supervision mode", {
      queue: l.queue,
      agent,
      supervisor: l.session.supervisor,
      mode,
    });
  }

  /** Take the supervisor out of `agent`'s call (hung up; caller and agent bridged again). */
  stop(agent: string): boolean {
    const s = this.#live.get(agent)?.session;
    s?.stop();
    return s !== undefined;
  }

  async #apply(l: LiveCall, s: Session, mode: SuperviseMode): Promise<void> {
    const calls = this.o.calls()!;
    await s.leg.muteInMix?.(mode === "listen");
    await calls.hearOnly(s.room, l.caller, mode === "whisper" ? [l.agentLeg] : null);
    s.mode = mode;
  }

  /** Caller and agent back to their two-party bridge. */
  async #restore(l: LiveCall): Promise<void> {
    try {
      await l.caller.leaveMix?.();
      await l.agentLeg.leaveMix?.();
      await this.o.calls()?.bridge(l.caller, l.agentLeg);
    } catch (e) {
      this.o.log.warn("queue: caller and agent could not be bridged again", {
        queue: l.queue,
        agent: l.agent,
        error: e as Error,
      });
    }
  }
}
