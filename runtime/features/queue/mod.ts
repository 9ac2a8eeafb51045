/**
 * Call queues (ACD) as a feature module: queues by number (migration 067), strategies
 * (strategy.ts), the caller's and agents' applications (app.ts), agent feature codes (`*45` log
 * in/out, `*46` pause; `*45NNN` / `*46NNN` for one queue), the admin REST API, daily statistics
 * (JSON and CSV) and a live wallboard page over SSE. Agents are rung with the call engine's
 * `calls.originate` and bridged to the caller with `calls.bridge` (`useCalls`). See docs/queues.md.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Context, Hono } from "hono";
import type {
  CallLeg,
  Calls,
  FeatureModule,
  FeatureWebEnv,
  FeatureWebKit,
  OriginatedLeg,
} from "../../call/mod.ts";
import type { Claim, PlanMatch, Route } from "../../call/route/mod.ts";
import * as m067 from "../../storage/migrations/067_queues.ts";
import {
  answerAndWait,
  type CallbackResult,
  type ConnectResult,
  queueApplications,
  type QueueDeps,
  QueueRuntime,
} from "./app.ts";
import { checkQueue, createQueueStore, type QueueConfig, type QueueStore } from "./store.ts";
import { SUPERVISE_MODES, type SuperviseMode, SuperviseRefused, Supervision } from "./supervise.ts";

export * from "./strategy.ts";
export * from "./store.ts";
export * from "./app.ts";
export * from "./supervise.ts";

/** Options of `queueFeature`. */
export interface QueueFeatureOptions extends Omit<QueueDeps, "store"> {
  db: DatabaseSync;
  /** Who else holds a number, for refusing a queue on it (409). */
  numberInUse?(number: string): string | undefined;
  /**
   * A queue call's caller and agent were bridged (the recorder's seam, wired by the appliance):
   * `aLegId` is the caller's media leg, `bLegId` the agent's; `always` is the queue's `record`.
   */
  onBridged?(call: QueueBridgedCall): void;
  /** The queue call `callId` ended. */
  onCallEnded?(callId: string): void;
}

/** A bridged queue call, as the recorder is told of it. */
export interface QueueBridgedCall {
  callId: string;
  caller: string;
  callee: string;
  aLegId: string;
  bLegId: string;
  queue: string;
  always: boolean;
}

const LOGIN = "*45";
const PAUSE = "*46";
/** Supervisor feature codes, followed by the agent's extension. */
const SUPERVISE_CODES: Record<SuperviseMode, string> = { listen: "*222", whisper: "*223", barge: "*224" };

/** The queue feature; `store` and `runtime` are exposed for the appliance and tests. */
export function queueFeature(
  options: QueueFeatureOptions,
): FeatureModule & { store: QueueStore; runtime: QueueRuntime; supervision: Supervision } {
  const { db, numberInUse, onBridged, onCallEnded, ...deps } = options;
  const store = createQueueStore(db, () => deps.clock.wallNow());
  let calls: Calls | undefined;
  const supervision = new Supervision({
    log: deps.log,
    calls: () => calls,
    supervisorsOf: (q) => store.get(q)?.supervisors,
    changed: () => runtime.changed(),
  });
  /** Tell the recorder of a bridged queue call; returns what tells it of the end. */
  const bridged = (queue: string, callerLeg: CallLeg, agent: string, agentLeg: OriginatedLeg): () => void => {
    const a = calls?.mediaLegOf(callerLeg);
    const b = calls?.mediaLegOf(agentLeg);
    if (onBridged === undefined || a === undefined || b === undefined) return () => {};
    try {
      onBridged({
        callId: agentLeg.callId,
        caller: callerLeg.info.caller,
        callee: agent,
        aLegId: a,
        bLegId: b,
        queue,
        always: store.get(queue)?.record ?? false,
      });
    } catch (e) {
      deps.log.warn("queue: the recorder was not told of a call", { queue, error: e as Error });
    }
    return () => onCallEnded?.(agentLeg.callId);
  };
  // Ring an agent with an originated leg; on answer the caller is bridged to it (after its music).
  const connect = async (
    agent: string,
    leg: CallLeg,
    o: { ringMs: number; queue: string },
  ): Promise<ConnectResult> => {
    if (calls === undefined) return { outcome: "failed" };
    const api = calls;
    let out;
    try {
      out = await api.originate({
        to: agent,
        callerId: leg.info.caller,
        timeoutMs: o.ringMs,
        reason: `queue ${o.queue}`,
      });
    } catch (e) {
      deps.log.warn("queue: ringing an agent failed", { queue: o.queue, agent, error: e as Error });
      return { outcome: "failed" };
    }
    const first = await Promise.race([out.answered, leg.ended.then(() => ({ outcome: "gone" as const }))]);
    if (first.outcome === "gone") {
      out.hangup("caller left the queue");
      return { outcome: "failed" };
    }
    if (first.outcome !== "answered") {
      return {
        outcome: first.outcome === "busy" ? "busy" : first.outcome === "noAnswer" ? "no-answer" : "failed",
      };
    }
    const agentLeg = out;
    let forget = () => {};
    let unrecord = () => {};
    const ended = Promise.race([leg.ended, agentLeg.ended]).then(() => {
      forget();
      unrecord();
      agentLeg.hangup("queue call over");
    });
    return {
      outcome: "answered",
      ended,
      join: async () => {
        await leg.stopPlay().catch(() => {});
        await api.bridge(leg, agentLeg);
        forget = supervision.register(o.queue, agent, leg, agentLeg);
        unrecord = bridged(o.queue, leg, agent, agentLeg);
      },
    };
  };
  // A callback: ring the agent first; once it answers, call the caller back and bridge them.
  const callBack = async (
    agent: string,
    caller: string,
    o: { ringMs: number; queue: string },
  ): Promise<CallbackResult> => {
    if (calls === undefined) return { outcome: "failed" };
    const api = calls;
    let agentLeg;
    try {
      agentLeg = await api.originate({
        to: agent,
        callerId: caller,
        timeoutMs: o.ringMs,
        reason: `queue ${o.queue} callback`,
      });
    } catch (e) {
      deps.log.warn("queue: ringing an agent failed", { queue: o.queue, agent, error: e as Error });
      return { outcome: "failed" };
    }
    const first = await agentLeg.answered;
    if (first.outcome !== "answered") {
      return {
        outcome: first.outcome === "busy" ? "busy" : first.outcome === "noAnswer" ? "no-answer" : "failed",
      };
    }
    // The agent hears ringback while the caller is rung.
    void agentLeg.play({ tone: "440+480/2000,0/4000", durationMs: o.ringMs + 5000 }).catch(() => {});
    let callerLeg;
    try {
      callerLeg = await api.originate({
        to: caller,
        callerId: o.queue,
        callerName: `Queue ${o.queue}`,
        timeoutMs: o.ringMs,
        linkedId: agentLeg.callId,
        reason: `queue ${o.queue} callback`,
      });
    } catch (e) {
      deps.log.warn("queue: the caller cannot be called back", { queue: o.queue, caller, error: e as Error });
      agentLeg.hangup("queue callback: caller unreachable");
      return { outcome: "caller-no-answer" };
    }
    const got = await Promise.race([
      callerLeg.answered,
      agentLeg.ended.then(() => ({ outcome: "agent-gone" as const })),
    ]);
    if (got.outcome === "agent-gone") {
      callerLeg.hangup("queue callback: the agent hung up");
      return { outcome: "failed" };
    }
    if (got.outcome !== "answered") {
      agentLeg.hangup("queue callback not answered");
      return { outcome: "caller-no-answer" };
    }
    await agentLeg.stopPlay().catch(() => {});
    try {
      await api.bridge(callerLeg, agentLeg);
    } catch (e) {
      deps.log.warn("queue: bridging the callback failed", { queue: o.queue, error: e as Error });
      agentLeg.hangup("queue bridge failed");
      callerLeg.hangup("queue bridge failed");
      return { outcome: "failed" };
    }
    const c = callerLeg;
    const forget = supervision.register(o.queue, agent, c, agentLeg);
    const unrecord = bridged(o.queue, c, agent, agentLeg);
    const ended = Promise.race([c.ended, agentLeg.ended]).then(() => {
      forget();
      unrecord();
      c.hangup("queue call over");
      agentLeg.hangup("queue call over");
    });
    return { outcome: "answered", ended };
  };
  const runtime = new QueueRuntime({ connect, callBack, ...deps, store });
  const codes: Claim[] = [
    {
      pattern: LOGIN,
      owner: { kind: "queue", id: "agent-login", label: "queue agent login" },
      purpose: "log in/out of your queues",
    },
    {
      pattern: `_${LOGIN}XX!`,
      owner: { kind: "queue", id: "agent-login-queue", label: "queue agent login" },
      purpose: "log in/out of queue NNN (*45NNN)",
    },
    {
      pattern: PAUSE,
      owner: { kind: "queue", id: "agent-pause", label: "queue agent pause" },
      purpose: "pause/unpause in your queues",
    },
    {
      pattern: `_${PAUSE}XX!`,
      owner: { kind: "queue", id: "agent-pause-queue", label: "queue agent pause" },
      purpose: "pause/unpause in queue NNN (*46NNN)",
    },
  ];
  for (const mode of SUPERVISE_MODES) {
    codes.push({
      pattern: `_${SUPERVISE_CODES[mode]}XX!`,
      owner: { kind: "queue", id: `supervise-${mode}`, label: `queue supervisor ${mode}` },
      purpose: `${mode} to agent NNN's queue call (${SUPERVISE_CODES[mode]}NNN)`,
    });
  }
  /** The supervisor feature code's application (args `{mode, agent}`). */
  const superviseApp = {
    name: "queue-supervise",
    async run(leg: CallLeg, args: { mode?: SuperviseMode; agent?: string }) {
      const mode = args.mode ?? "listen";
      const agent = args.agent ?? "";
      try {
        supervision.check(leg.info.caller, agent);
      } catch (e) {
        const r = e instanceof SuperviseRefused ? e : new SuperviseRefused(404, String(e));
        deps.log.warn("queue: supervision refused", {
          supervisor: leg.info.caller,
          agent,
          mode,
          why: r.message,
        });
        leg.reject(
          r.status === 409 ? 486 : r.status,
          r.status === 403 ? "Forbidden (not a supervisor)" : r.message,
        );
        return;
      }
      if (!await answerAndWait(leg)) return;
      try {
        await supervision.supervise(leg, leg.info.caller, agent, mode);
      } catch (e) {
        deps.log.warn("queue: supervision failed", { supervisor: leg.info.caller, agent, error: e as Error });
        leg.hangup("supervision failed");
      }
    },
  };
  /** The wallboard plus who may supervise, and each agent's live queue call and its supervisor. */
  const board = (q: QueueConfig) => {
    const b = runtime.wallboard(q);
    return {
      ...b,
      supervisors: q.supervisors,
      agents: b.agents.map((a) => {
        const live = supervision.callOf(a.extension);
        if (live === undefined || live.queue !== q.number) return { ...a, onQueueCall: false };
        return {
          ...a,
          onQueueCall: true,
          ...(live.supervisor !== undefined ? { supervisedBy: live.supervisor, supervision: live.mode } : {}),
        };
      }),
    };
  };
  let claims: Claim[] | undefined;
  const numbers = () =>
    claims ??= [
      ...codes,
      ...store.list().map((q) => ({
        pattern: q.number,
        owner: { kind: "queue" as const, id: `q:${q.number}`, label: `queue ${q.number} "${q.name}"` },
        purpose: "call queue",
      })),
    ];
  const app = (name: string, args: Record<string, unknown>): Route => ({
    steps: [{ destination: { kind: "application", name, args } }],
  });
  const DAY = 86_400_000;
  const dayOf = (s: string | undefined, fallback: number, kit: FeatureWebKit): number => {
    if (s === undefined || s === "") return fallback;
    const t = Date.parse(`${s}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(t)) {
      kit.fail(400, `a day is YYYY-MM-DD, got ${JSON.stringify(s.slice(0, 20))}`);
    }
    return t;
  };

  return {
    name: "queue",
    useCalls(c) {
      calls = c;
    },
    store,
    runtime,
    supervision,
    migrations: [m067],
    numbers,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        const { owner } = match.claim;
        if (owner.kind !== "queue") return undefined;
        if (owner.id.startsWith("q:")) return app("queue", { queue: owner.id.slice(2) });
        if (owner.id.startsWith("supervise-")) {
          return app("queue-supervise", { mode: owner.id.slice("supervise-".length), agent: match.suffix });
        }
        const action = owner.id.startsWith("agent-pause") ? "pause" : "login";
        return app("queue-agent", { action, ...(match.suffix ? { queue: match.suffix } : {}) });
      },
    },
    applications: [...queueApplications(runtime), superviseApp],
    web: {
      openapi: {
        "/api/queues": {
          get: { summary: "Queues (admin)", responses: { 200: { description: "{queues}" } } },
        },
        "/api/queues/{number}": {
          put: {
            summary:
              "Create or replace a queue: {name?, strategy?, ringMs?, wrapUpMs?, maxWaitMs?, members?, joinEmpty?, leaveWhenEmpty?, announceEveryMs?, exitDigit?, exitTarget?, overflow?}",
            responses: {
              200: { description: "queue" },
              400: { description: "what is wrong" },
              409: { description: "number taken" },
            },
          },
          get: { summary: "One queue", responses: { 200: { description: "queue" } } },
          delete: { summary: "Delete a queue", responses: { 204: { description: "deleted" } } },
        },
        "/api/queues/{number}/agents/{extension}": {
          post: {
            summary: "Log an agent in/out or pause it: {loggedIn?, paused?}",
            responses: { 200: { description: "agent" }, 400: { description: "refused" } },
          },
        },
        "/api/queues/{number}/wallboard": {
          get: {
            summary: "Waiting callers, longest wait, agents' states, answered/abandoned today",
            responses: { 200: { description: "wallboard" } },
          },
        },
        "/api/queues/{number}/stats": {
          get: {
            summary: "Statistics per day: ?from=YYYY-MM-DD&to=YYYY-MM-DD (to exclusive)&format=csv",
            responses: { 200: { description: "{days} or text/csv" } },
          },
        },
        "/api/queues/{number}/supervise": {
          post: {
            summary:
              "Ring a supervisor's phone and join it to an agent's queue call: {agent, supervisor, mode: listen|whisper|barge}",
            responses: {
              202: { description: "ringing the supervisor" },
              400: { description: "what is wrong" },
              403: { description: "not a supervisor of the queue" },
              404: { description: "the agent is not on a call of the queue" },
              409: { description: "already supervised" },
            },
          },
        },
        "/api/queues/{number}/supervise/{agent}": {
          post: {
            summary: "Switch the supervision of the agent's call: {mode}",
            responses: { 200: { description: "{mode}" }, 404: { description: "not supervised" } },
          },
          delete: {
            summary: "Take the supervisor out (hung up; caller and agent bridged again)",
            responses: { 204: { description: "done" }, 404: { description: "not supervised" } },
          },
        },
        "/api/queues/events": {
          get: {
            summary: "SSE: `wallboard` with every queue on each change",
            responses: { 200: { description: "text/event-stream" } },
          },
        },
      },
      pages: [{
        path: "/queues",
        title: "Queues",
        script: new URL("./web/queues.js", import.meta.url),
        render: ({ html }) =>
          html`
            <p id="q-status" role="status">Connecting…</p>
            <div id="q-boards" class="stack"></div>
            <p id="q-none" hidden>No queues yet (PUT /api/queues/{number}).</p>
          `,
      }],
      routes(api: Hono<FeatureWebEnv>, kit: FeatureWebKit) {
        const queueOf = (c: Context<FeatureWebEnv>): QueueConfig => {
          const q = store.get(c.req.param("number") ?? "");
          if (q === undefined) {
            kit.fail(404, `no queue ${JSON.stringify(c.req.param("number")?.slice(0, 20))}`);
          }
          return q;
        };
        const json = async (c: Context<FeatureWebEnv>): Promise<Record<string, unknown>> => {
          const bytes = await kit.readBody(c, 32 * 1024);
          try {
            const v = bytes.length === 0 ? {} : JSON.parse(new TextDecoder().decode(bytes));
            if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TypeError();
            return v as Record<string, unknown>;
          } catch {
            kit.fail(400, "the body must be a JSON object");
          }
        };
        api.use("/queues/*", kit.requireAdmin);
        api.use("/queues", kit.requireAdmin);
        api.get("/queues", (c) => c.json({ queues: store.list() }));
        api.get("/queues/events", (c) => {
          const enc = new TextEncoder();
          let stop = () => {};
          const body = new ReadableStream<Uint8Array>({
            start(ctl) {
              const send = () => {
                try {
                  const boards = store.list().map(board);
                  ctl.enqueue(
                    enc.encode(`event: wallboard\ndata: ${JSON.stringify({ queues: boards })}\n\n`),
                  );
                } catch {
                  stop();
                }
              };
              let pending: ReturnType<typeof setTimeout> | undefined;
              const off = runtime.onChange(() => {
                pending ??= setTimeout(() => {
                  pending = undefined;
                  send();
                }, 100);
              });
              // Waits grow by the second: a refresh every 5 s keeps the wallboard's times current.
              const beat = setInterval(send, 5000);
              stop = () => {
                off();
                clearInterval(beat);
                if (pending !== undefined) clearTimeout(pending);
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
        api.get("/queues/:number", (c) => c.json(queueOf(c)));
        api.put("/queues/:number", async (c) => {
          let q: QueueConfig;
          try {
            q = checkQueue({ ...await json(c), number: c.req.param("number") });
          } catch (e) {
            kit.fail(400, (e as Error).message);
          }
          if (store.get(q.number) === undefined) {
            const other = numberInUse?.(q.number);
            if (other !== undefined) kit.fail(409, `number ${q.number} is taken by ${other}`);
          }
          store.put(q);
          claims = undefined;
          runtime.changed();
          kit.audit(c, "queue.put", q.number);
          return c.json(q);
        });
        api.delete("/queues/:number", (c) => {
          const q = queueOf(c);
          store.delete(q.number);
          claims = undefined;
          runtime.changed();
          kit.audit(c, "queue.delete", q.number);
          return c.body(null, 204);
        });
        api.get("/queues/:number/wallboard", (c) => c.json(board(queueOf(c))));
        api.post("/queues/:number/agents/:extension", async (c) => {
          const q = queueOf(c);
          const body = await json(c);
          const change: { loggedIn?: boolean; paused?: boolean } = {};
          for (const k of ["loggedIn", "paused"] as const) {
            if (body[k] === undefined) continue;
            if (typeof body[k] !== "boolean") kit.fail(400, `${k} must be true or false`);
            change[k] = body[k] as boolean;
          }
          const ext = c.req.param("extension");
          if (!/^[0-9]{1,16}$/.test(ext)) kit.fail(400, "extension must be digits");
          try {
            const row = runtime.setAgent(q.number, ext, change);
            kit.audit(c, "queue.agent", `${q.number} ${ext} ${JSON.stringify(change)}`);
            return c.json(row);
          } catch (e) {
            kit.fail(400, (e as Error).message);
          }
        });
        const modeOf = (v: unknown): SuperviseMode => {
          if (!SUPERVISE_MODES.includes(v as SuperviseMode)) {
            kit.fail(400, `mode must be one of ${SUPERVISE_MODES.join(", ")}`);
          }
          return v as SuperviseMode;
        };
        const refused = (e: unknown): never => {
          if (e instanceof SuperviseRefused) kit.fail(e.status, e.message);
          throw e;
        };
        api.post("/queues/:number/supervise", async (c) => {
          const q = queueOf(c);
          const body = await json(c);
          const mode = modeOf(body.mode ?? "listen");
          const agent = String(body.agent ?? "");
          const supervisor = String(body.supervisor ?? "");
          if (!/^[0-9]{1,16}$/.test(agent) || !/^[0-9]{1,16}$/.test(supervisor)) {
            kit.fail(400, "agent and supervisor must be extension numbers");
          }
          try {
            supervision.check(supervisor, agent, q.number);
          } catch (e) {
            deps.log.warn("queue: supervision refused", {
              supervisor,
              agent,
              mode,
              why: (e as Error).message,
            });
            refused(e);
          }
          if (calls === undefined) kit.fail(503, "the call engine is not ready");
          let leg;
          try {
            leg = await calls.originate({
              to: supervisor,
              callerId: agent,
              callerName: `${mode} ${agent}`,
              reason: `queue ${q.number} supervisor ${mode}`,
            });
          } catch (e) {
            kit.fail(409, `cannot ring ${supervisor}: ${(e as Error).message}`);
          }
          const sup = leg;
          void sup.answered.then(async (r) => {
            if (r.outcome !== "answered") return;
            try {
              await supervision.supervise(sup, supervisor, agent, mode);
            } catch (e) {
              deps.log.warn("queue: supervision failed", { supervisor, agent, error: e as Error });
              sup.hangup("supervision failed");
            }
          });
          kit.audit(c, "queue.supervise", `${q.number} ${supervisor} ${mode} ${agent}`);
          return c.json({ ringing: supervisor, agent, mode }, 202);
        });
        api.post("/queues/:number/supervise/:agent", async (c) => {
          queueOf(c);
          const mode = modeOf((await json(c)).mode);
          try {
            await supervision.setMode(c.req.param("agent"), mode);
          } catch (e) {
            refused(e);
          }
          kit.audit(c, "queue.supervise.mode", `${c.req.param("agent")} ${mode}`);
          return c.json({ mode });
        });
        api.delete("/queues/:number/supervise/:agent", (c) => {
          queueOf(c);
          if (!supervision.stop(c.req.param("agent"))) kit.fail(404, "the agent's call is not supervised");
          kit.audit(c, "queue.supervise.stop", c.req.param("agent"));
          return c.body(null, 204);
        });
        api.get("/queues/:number/stats", (c) => {
          const q = queueOf(c);
          const now = deps.clock.wallNow();
          const today = now - (now % DAY);
          const from = dayOf(c.req.query("from"), today, kit);
          const to = dayOf(c.req.query("to"), from + DAY, kit);
          if (to <= from) kit.fail(400, "to must be after from");
          const days = store.stats(q.number, from, to);
          if (c.req.query("format") === "csv") {
            const head =
              "queue,day,calls,answered,abandoned,overflowed,exited,average_wait_ms,longest_wait_ms";
            const lines = days.map((d) =>
              [
                d.queue,
                d.day,
                d.calls,
                d.answered,
                d.abandoned,
                d.overflowed,
                d.exited,
                d.averageWaitMs,
                d.longestWaitMs,
              ].join(",")
            );
            return c.body([head, ...lines].join("\n") + "\n", 200, {
              "Content-Type": "text/csv; charset=utf-8",
              "Content-Disposition": `attachment; filename="queue-${q.number}-stats.csv"`,
            });
          }
          return c.json({ days });
        });
      },
    },
  };
}
