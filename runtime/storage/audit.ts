/** The audit log: who changed what, from where. Append-only from the application's side. */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";
import { paging, parseJsonColumn } from "./_db.ts";

/** An entry to append. `detail` must not contain secrets. */
export interface AuditInput {
  actor: string;
  action: string;
  detail?: unknown;
  sourceIp?: string | undefined;
}

/** A stored audit entry. */
export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  detail: unknown;
  sourceIp?: string | undefined;
}

/** Typed access to the audit table. */
export interface AuditStore {
  /** Append an entry; returns its id. */
  record(entry: AuditInput): number;
  /** Entries newest first; `action` is an exact action, `actionPrefix` e.g. "security.". */
  list(
    query?: {
      limit?: number | undefined;
      offset?: number | undefined;
      action?: string | undefined;
      actionPrefix?: string | undefined;
    },
  ): AuditEntry[];
}

/** Build the store over an open, migrated database. */
export function createAuditStore(db: DatabaseSync, options: { clock: Clock }): AuditStore {
  const insert = db.prepare(
    "INSERT INTO audit (at, actor, action, detail, source_ip) VALUES (?, ?, ?, ?, ?)",
  );
  const list = db.prepare(
    "SELECT * FROM audit WHERE (?1 IS NULL OR action = ?1) AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4) " +
      "ORDER BY at DESC, id DESC LIMIT ?2 OFFSET ?3",
  );
  return {
    record(e) {
      if (typeof e.actor !== "string" || typeof e.action !== "string") {
        throw new TypeError("audit actor and action must be strings");
      }
      const detail = JSON.stringify(e.detail ?? null) ?? "null";
      const res = insert.run(
        options.clock.wallNow(),
        e.actor.slice(0, 128),
        e.action.slice(0, 128),
        detail,
        e.sourceIp ?? null,
      );
      return Number(res.lastInsertRowid);
    },
    list(query = {}) {
      const [limit, offset] = paging(query.limit, query.offset);
      const rows = list.all(query.action ?? null, limit, offset, query.actionPrefix ?? null) as unknown as {
        id: number;
        at: number;
        actor: string;
        action: string;
        detail: string;
        source_ip: string | null;
      }[];
      return rows.map((r) => {
        const entry: AuditEntry = {
          id: r.id,
          at: r.at,
          actor: r.actor,
          action: r.action,
          detail: parseJsonColumn(r.detail, null),
        };
        if (r.source_ip !== null) entry.sourceIp = r.source_ip;
        return entry;
      });
    },
  };
}
