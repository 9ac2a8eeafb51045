/**
 * Call detail records: one row per finished leg of a call (a dialplan step that rang, the part of
 * a call before and after a transfer), written by the call layer, read by the web UI. The rows of
 * one call share its `linkedId`.
 */
import type { DatabaseSync } from "node:sqlite";
import { createGroupCommit, type GroupCommit, paging, type SqlValue } from "./_db.ts";

/** How a call ended. */
export type Disposition =
  | "answered"
  | "busy"
  | "no-answer"
  | "cancelled"
  | "failed"
  | "unavailable"
  | "not-found"
  | "rejected";

/** Every valid disposition, for validation. */
export const DISPOSITIONS: readonly Disposition[] = [
  "answered",
  "busy",
  "no-answer",
  "cancelled",
  "failed",
  "unavailable",
  "not-found",
  "rejected",
];

/** Which side hung up. */
export type HangupBy = "caller" | "callee" | "system";

/** A call record to insert. Times are epoch ms; durations default from the times. */
export interface CdrRecord {
  callId: string;
  /**
   * The call this record belongs to: the Call-ID of the INVITE that started it, shared by every
   * record the call wrote (route steps, transfer legs). Defaults to `callId`.
   */
  linkedId?: string | undefined;
  caller: string;
  callee: string;
  callerName?: string | undefined;
  startedAt: number;
  answeredAt?: number | undefined;
  endedAt: number;
  /** Defaults to endedAt - startedAt. */
  durationMs?: number | undefined;
  /** Talk time; defaults to endedAt - answeredAt, or 0 when never answered. */
  billsecMs?: number | undefined;
  disposition: Disposition;
  hangupBy?: HangupBy | undefined;
  sipCode?: number | undefined;
  reason?: string | undefined;
  /** The trunk the call came in from or went out of. */
  trunk?: string | undefined;
  /** STIR/SHAKEN verification of a trunk caller (RFC 8588 verstat). */
  verstat?: string | undefined;
}

/** A stored call record. */
export interface CdrRow extends CdrRecord {
  id: number;
  linkedId: string;
  durationMs: number;
  billsecMs: number;
}

/** Filters for `CdrStore.list`; from/to bound started_at (from inclusive, to exclusive). */
export interface CdrQuery {
  from?: number | undefined;
  to?: number | undefined;
  /** Matches caller or callee. */
  extension?: string | undefined;
  disposition?: Disposition | undefined;
  /** The records of one call. */
  linkedId?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Typed access to the cdr table. */
export interface CdrStore {
  /** Insert a record; returns its id. Throws TypeError/RangeError on invalid input. */
  insert(record: CdrRecord): number;
  /**
   * Insert as part of a group commit (shared with the registrar's writes): resolves with the id
   * after the batch is committed. Validation errors reject.
   */
  insertDurable(record: CdrRecord): Promise<number>;
  /** Records newest first. */
  list(query?: CdrQuery): CdrRow[];
  /** Number of records matching the filters (limit/offset ignored). */
  count(query?: CdrQuery): number;
  /** CSV (RFC 4180, CRLF) with a header line; cells that a spreadsheet would run as formulas are defused. */
  toCsv(rows: readonly CdrRow[]): string;
}

const HANGUP = new Set(["caller", "callee", "system"]);

function int(value: unknown, what: string, optional: boolean): number | null {
  if (value === undefined && optional) return null;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function str(value: unknown, what: string, optional: boolean, max = 256): string | null {
  if (value === undefined && optional) return null;
  if (typeof value !== "string" || value.length > max) {
    throw new TypeError(`${what} must be a string of at most ${max} characters`);
  }
  return value;
}

interface CdrDbRow {
  id: number;
  call_id: string;
  linked_id: string | null;
  caller: string;
  callee: string;
  caller_name: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number;
  duration_ms: number;
  billsec_ms: number;
  disposition: Disposition;
  hangup_by: HangupBy | null;
  sip_code: number | null;
  reason: string | null;
  trunk: string | null;
  verstat: string | null;
}

function toRow(r: CdrDbRow): CdrRow {
  const row: CdrRow = {
    id: r.id,
    callId: r.call_id,
    linkedId: r.linked_id ?? r.call_id,
    caller: r.caller,
    callee: r.callee,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    billsecMs: r.billsec_ms,
    disposition: r.disposition,
  };
  if (r.caller_name !== null) row.callerName = r.caller_name;
  if (r.answered_at !== null) row.answeredAt = r.answered_at;
  if (r.hangup_by !== null) row.hangupBy = r.hangup_by;
  if (r.sip_code !== null) row.sipCode = r.sip_code;
  if (r.reason !== null) row.reason = r.reason;
  if (r.trunk !== null) row.trunk = r.trunk;
  if (r.verstat !== null) row.verstat = r.verstat;
  return row;
}

function where(q: CdrQuery): { sql: string; params: SqlValue[] } {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (q.from !== undefined) {
    parts.push("started_at >= ?");
    params.push(int(q.from, "from", false));
  }
  if (q.to !== undefined) {
    parts.push("started_at < ?");
    params.push(int(q.to, "to", false));
  }
  if (q.extension !== undefined) {
    parts.push("(caller = ? OR callee = ?)");
    params.push(str(q.extension, "extension", false), q.extension);
  }
  if (q.disposition !== undefined) {
    if (!DISPOSITIONS.includes(q.disposition)) throw new RangeError(`unknown disposition ${q.disposition}`);
    parts.push("disposition = ?");
    params.push(q.disposition);
  }
  if (q.linkedId !== undefined) {
    parts.push("COALESCE(linked_id, call_id) = ?");
    params.push(str(q.linkedId, "linkedId", false, 1024));
  }
  return { sql: parts.length === 0 ? "" : "WHERE " + parts.join(" AND "), params };
}

const CSV_COLUMNS: readonly (keyof CdrRow)[] = [
  "id",
  "callId",
  "caller",
  "callerName",
  "callee",
  "startedAt",
  "answeredAt",
  "endedAt",
  "durationMs",
  "billsecMs",
  "disposition",
  "hangupBy",
  "sipCode",
  "reason",
  "linkedId", // after the older columns: spreadsheets reading them by position still line up
  "trunk",
  "verstat",
];

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  let s = typeof value === "number" ? String(value) : String(value);
  // CSV injection: a leading = + - @ tab or CR makes spreadsheets evaluate the cell.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Render CDR rows as CSV; exported for use without a store. */
export function cdrToCsv(rows: readonly CdrRow[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of rows) lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** Build the store over an open, migrated database. */
export function createCdrStore(db: DatabaseSync, options: { committer?: GroupCommit } = {}): CdrStore {
  const committer = options.committer ?? createGroupCommit(db);
  const insert = db.prepare(
    `INSERT INTO cdr (call_id, caller, callee, caller_name, started_at, answered_at, ended_at, duration_ms,
       billsec_ms, disposition, hangup_by, sip_code, reason, linked_id, trunk, verstat)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const prepare = (r: CdrRecord): SqlValue[] => {
    if (typeof r !== "object" || r === null) throw new TypeError("CDR record must be an object");
    const startedAt = int(r.startedAt, "startedAt", false)!;
    const endedAt = int(r.endedAt, "endedAt", false)!;
    const answeredAt = int(r.answeredAt, "answeredAt", true);
    if (endedAt < startedAt) throw new RangeError(`endedAt ${endedAt} is before startedAt ${startedAt}`);
    if (answeredAt !== null && (answeredAt < startedAt || answeredAt > endedAt)) {
      throw new RangeError(`answeredAt ${answeredAt} is outside startedAt..endedAt`);
    }
    if (!DISPOSITIONS.includes(r.disposition)) {
      throw new RangeError(`disposition must be one of ${DISPOSITIONS.join(", ")}, got ${r.disposition}`);
    }
    if (r.hangupBy !== undefined && !HANGUP.has(r.hangupBy)) {
      throw new RangeError(`hangupBy must be caller, callee or system, got ${r.hangupBy}`);
    }
    const durationMs = r.durationMs === undefined
      ? endedAt - startedAt
      : int(r.durationMs, "durationMs", false);
    const billsecMs = r.billsecMs === undefined
      ? (answeredAt === null ? 0 : endedAt - answeredAt)
      : int(r.billsecMs, "billsecMs", false);
    const sipCode = int(r.sipCode, "sipCode", true);
    if (sipCode !== null && (sipCode < 100 || sipCode > 699)) {
      throw new RangeError(`sipCode ${sipCode} is not 100-699`);
    }
    return [
      str(r.callId, "callId", false, 1024),
      str(r.caller, "caller", false),
      str(r.callee, "callee", false),
      str(r.callerName, "callerName", true),
      startedAt,
      answeredAt,
      endedAt,
      durationMs,
      billsecMs,
      r.disposition,
      r.hangupBy ?? null,
      sipCode,
      str(r.reason, "reason", true, 1024),
      str(r.linkedId ?? r.callId, "linkedId", false, 1024),
      str(r.trunk, "trunk", true, 64),
      str(r.verstat, "verstat", true, 64),
    ];
  };
  const store: CdrStore = {
    insertDurable(r) {
      // Validate now so a bad record fails at once, not inside someone else's batch.
      let row: SqlValue[];
      try {
        row = prepare(r);
      } catch (e) {
        return Promise.reject(e);
      }
      return committer.enqueue(() => Number(insert.run(...row).lastInsertRowid));
    },
    insert(r) {
      return Number(insert.run(...prepare(r)).lastInsertRowid);
    },

    list(query = {}) {
      const [limit, offset] = paging(query.limit, query.offset, 100_000);
      const w = where(query);
      // Dynamic WHERE: at most 16 shapes, each cached by SQLite's own statement parse being cheap.
      const stmt = db.prepare(
        `SELECT * FROM cdr ${w.sql} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`,
      );
      return (stmt.all(...w.params, limit, offset) as unknown as CdrDbRow[]).map(toRow);
    },
    count(query = {}) {
      const w = where(query);
      return (db.prepare(`SELECT COUNT(*) AS n FROM cdr ${w.sql}`).get(...w.params) as { n: number }).n;
    },
    toCsv: cdrToCsv,
  };
  return store;
}
