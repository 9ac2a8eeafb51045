/**
 * GET/PUT /api/mailboxes/:number/summary: the message-waiting counts of an extension's mailbox
 * (RFC 3842 message-summary). PUT sets them and NOTIFYs the phones subscribed to that mailbox;
 * voicemail will call the same setter. Admin only.
 */
import { Hono } from "hono";
import type { Storage } from "../runtime/storage/mod.ts";
import type { AppEnv } from "./_env.ts";
import type { MailboxCounts, MailboxSummaries } from "./types.ts";

const FIELDS = ["newMessages", "oldMessages", "urgentNew", "urgentOld"] as const;

/** Check a PUT body; returns the counts or an error message. */
export function parseMailboxCounts(body: unknown): MailboxCounts | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body must be a JSON object";
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!(FIELDS as readonly string[]).includes(k)) {
      return `unknown field "${k}" (allowed: ${FIELDS.join(", ")})`;
    }
  }
  const out: Record<string, number> = {};
  for (const k of FIELDS) {
    const v = b[k];
    if (v === undefined) {
      if (k === "newMessages" || k === "oldMessages") return `${k} is required`;
      continue;
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 1_000_000) {
      return `${k} must be an integer 0..1000000, got ${JSON.stringify(v)}`;
    }
    out[k] = v;
  }
  return out as unknown as MailboxCounts;
}

/** The mailbox routes, mounted at /api behind requireAuth + requireAdmin. */
export function mailboxRoutes(
  options: { storage: Storage; mailboxes?: MailboxSummaries | undefined },
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const find = (n: string) => options.storage.extensions.get(n) !== undefined;
  app.get("/mailboxes/:number/summary", (c) => {
    const number = c.req.param("number");
    if (!options.mailboxes) return c.json({ error: "message waiting is not available" }, 503);
    if (!find(number)) return c.json({ error: `no extension ${number}` }, 404);
    return c.json({ mailbox: number, ...options.mailboxes.get(number) });
  });
  app.put("/mailboxes/:number/summary", async (c) => {
    const number = c.req.param("number");
    if (!options.mailboxes) return c.json({ error: "message waiting is not available" }, 503);
    if (!find(number)) return c.json({ error: `no extension ${number}` }, 404);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: "body is not JSON" }, 400);
    }
    const counts = parseMailboxCounts(body);
    if (typeof counts === "string") return c.json({ error: counts }, 400);
    const notified = options.mailboxes.set(number, counts);
    return c.json({ mailbox: number, ...counts, notified });
  });
  return app;
}
