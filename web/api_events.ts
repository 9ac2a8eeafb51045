/**
 * GET /api/events: live status as server-sent events. Events `registrations` and `calls` carry the
 * full current list (`{"items": [...]}`); `zones` says paging zones changed (refetch
 * /api/paging/zones). Changes are coalesced; a comment line keeps idle connections open, and the
 * stream ends with an `expired` event once the session is gone.
 */
import { Hono } from "hono";
import type { Clock } from "../runtime/clock/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { listRegistrations } from "./api_status.ts";
import type { AppEnv } from "./_env.ts";
import type { LiveChange, LiveStatus } from "./types.ts";

/** Format one SSE event. `data` is JSON on a single line. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The events route, mounted at /api behind requireAuth + requireAdmin. */
export function eventRoutes(
  options: { storage: Storage; live: LiveStatus; clock: Clock; coalesceMs: number; heartbeatMs: number },
): Hono<AppEnv> {
  const { storage, live, clock } = options;
  const app = new Hono<AppEnv>();

  app.get("/events", (c) => {
    const token = c.get("token");
    const encoder = new TextEncoder();
    const pending = new Set<LiveChange>();
    let flushTimer: number | undefined;
    let heartbeatTimer: number | undefined;
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    let stopCurrent: (() => void) | undefined;

    const payload = (change: LiveChange): unknown => {
      if (change === "registrations") return { items: listRegistrations(storage, clock.wallNow()) };
      if (change === "calls") return { items: live.calls() };
      return {};
    };

    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        const stop = () => {
          if (closed) return;
          closed = true;
          unsubscribe?.();
          if (flushTimer !== undefined) clock.clearTimeout(flushTimer);
          if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer);
        };
        const send = (text: string) => {
          if (closed) return;
          try {
            ctl.enqueue(encoder.encode(text));
          } catch {
            stop();
          }
        };
        // A revoked or expired session must not keep receiving data.
        const sessionAlive = () => {
          if (storage.sessions.lookup(token) !== undefined) return true;
          send(sseEvent("expired", { reason: "session ended" }));
          stop();
          try {
            ctl.close();
          } catch { /* already closed */ }
          return false;
        };
        const flush = () => {
          flushTimer = undefined;
          if (!sessionAlive()) return;
          const changes = [...pending];
          pending.clear();
          for (const change of changes) send(sseEvent(change, payload(change)));
        };
        const heartbeat = () => {
          heartbeatTimer = undefined;
          if (!sessionAlive()) return;
          send(": keep-alive\n\n");
          heartbeatTimer = clock.setTimeout(heartbeat, options.heartbeatMs);
        };
        send("retry: 3000\n\n");
        send(sseEvent("registrations", payload("registrations")));
        send(sseEvent("calls", payload("calls")));
        unsubscribe = live.onChange?.((change) => {
          if (closed || !["calls", "registrations", "zones"].includes(change)) return;
          pending.add(change);
          flushTimer ??= clock.setTimeout(flush, options.coalesceMs);
        });
        heartbeatTimer = clock.setTimeout(heartbeat, options.heartbeatMs);
        stopCurrent = stop;
      },
      cancel() {
        stopCurrent?.();
      },
    });

    return c.body(body, 200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
  });
  return app;
}
