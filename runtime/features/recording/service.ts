/**
 * Call recording: the policy (always-on extensions, the in-call feature code, the notice tone,
 * retention), the recordings' rows (migration 066) and the recorder that starts and stops the
 * media worker's stereo WAV recorder on a bridged call's caller leg: left channel what the caller
 * says, right channel what the callee says. Nothing here touches the call: a recording that cannot
 * start or fails (disk full) is logged and the call goes on.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock, TimerId } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";

/** The recording policy. */
export interface RecordingPolicy {
  /** Extensions whose every answered call (as caller or callee) is recorded. */
  alwaysExtensions: string[];
  /** Trunks (their ids) whose every answered call, in or out, is recorded. */
  alwaysTrunks: string[];
  /** Digits either party presses during a call to start or stop recording (default `*1`). */
  featureCode: string;
  /** Play a short tone to both parties when a recording starts (the "call is recorded" notice). */
  notice: boolean;
  /** `stereo`: caller left, callee right (default); `mixed`: both in one channel. */
  channels: "stereo" | "mixed";
  /** `wav` (PCM16, default) or `opus` (Ogg Opus, RFC 7845: about a tenth of the size). */
  format: "wav" | "opus";
  /** Recordings older than this many days are deleted (0: kept). */
  retentionDays: number;
  /** Most bytes all recordings may take; the oldest are deleted past it (0: no limit). */
  maxBytes: number;
}

/** The default policy: nothing always-on, `*1` on demand, notice on, 90 days, 2 GiB. */
export const DEFAULT_POLICY: RecordingPolicy = {
  alwaysExtensions: [],
  alwaysTrunks: [],
  featureCode: "*1",
  notice: true,
  channels: "stereo",
  format: "wav",
  retentionDays: 90,
  maxBytes: 2 * 1024 ** 3,
};

/** Check a policy from the API (merged over the current one); TypeError/RangeError name what is wrong. */
export function checkPolicy(input: unknown, base: RecordingPolicy = DEFAULT_POLICY): RecordingPolicy {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError("policy must be an object");
  }
  const p = { ...base, ...(input as Partial<RecordingPolicy>) };
  if (
    !Array.isArray(p.alwaysExtensions) || !p.alwaysExtensions.every((e) => /^[0-9]{1,16}$/.test(String(e)))
  ) {
    throw new RangeError("alwaysExtensions must be a list of extension numbers");
  }
  // Policies stored before trunks could be named have no alwaysTrunks.
  const trunks = (p as { alwaysTrunks?: unknown }).alwaysTrunks ?? [];
  if (
    !Array.isArray(trunks) ||
    !trunks.every((t) => typeof t === "string" && /^[a-z0-9][a-z0-9_-]{0,31}$/.test(t))
  ) {
    throw new RangeError("alwaysTrunks must be a list of trunk ids");
  }
  if (
    typeof p.featureCode !== "string" || !/^[*#0-9]{2,4}$/.test(p.featureCode) || !/^[*#]/.test(p.featureCode)
  ) {
    throw new RangeError("featureCode must be 2-4 of * # 0-9, starting with * or #");
  }
  if (typeof p.notice !== "boolean") throw new TypeError("notice must be true or false");
  if (p.channels !== "stereo" && p.channels !== "mixed") {
    throw new RangeError('channels must be "stereo" or "mixed"');
  }
  if (p.format !== "wav" && p.format !== "opus") throw new RangeError('format must be "wav" or "opus"');
  for (const k of ["retentionDays", "maxBytes"] as const) {
    if (typeof p[k] !== "number" || !Number.isSafeInteger(p[k]) || p[k] < 0) {
      throw new RangeError(`${k} must be an integer >= 0`);
    }
  }
  return {
    alwaysExtensions: [...new Set(p.alwaysExtensions.map(String))],
    alwaysTrunks: [...new Set(trunks as string[])],
    featureCode: p.featureCode,
    notice: p.notice,
    channels: p.channels,
    format: p.format,
    retentionDays: p.retentionDays,
    maxBytes: p.maxBytes,
  };
}

/** One recording as the API shows it. */
export interface Recording {
  id: number;
  callId: string;
  caller: string;
  callee: string;
  mode: "always" | "on-demand";
  /** File name under the recordings directory. */
  file: string;
  startedAt: number;
  durationMs: number | null;
  bytes: number | null;
  status: "recording" | "done" | "failed";
  /** The queue whose call this is (its always-on `record` setting, or any queue call recorded). */
  queue: string | null;
}

/** A bridged call (B2buaOptions.onBridged's argument). */
export interface RecordedCall {
  callId: string;
  caller: string;
  callee: string;
  aLegId: string;
  bLegId: string;
  /** The trunk the call came in from or goes out of (the policy's `alwaysTrunks`). */
  trunk?: string | undefined;
  /** A queue call (the queue's number): the recording names it. */
  queue?: string;
  /** Record it from the start whatever the policy says (a queue's `record` setting). */
  always?: boolean;
}

/** The media the recorder needs (MediaPlane fits). */
export interface RecordingMedia {
  record(
    legId: string,
    path: string,
    options: ({ stereo: true } | { mixed: true }) & { format?: "wav" | "opus" },
  ): Promise<unknown>;
  stopRecord(legId: string): Promise<{ durationMs: number; reason: string } | null>;
  playTone?(legId: string, spec: string, options: { durationMs: number }): Promise<unknown>;
  /** DTMF digits and finished recordings from the media worker. */
  on(
    listener: (
      ev:
        | { event: "dtmf"; legId: string; digit: string }
        | { event: "recorded"; legId: string; path: string; reason: string; durationMs: number }
        | { event: string; legId: string },
    ) => void,
  ): () => void;
}

/** Options of `Recorder`. */
export interface RecorderOptions {
  db: DatabaseSync;
  /** Recordings go to `<dataDir>/recordings`. */
  dataDir: string;
  clock: Clock;
  log: Logger;
  media: RecordingMedia;
  /** How often retention runs (default hourly). */
  sweepEveryMs?: number;
  /** Two digits of the feature code must come within this (default 3 s). */
  digitGapMs?: number;
}

interface Live {
  call: RecordedCall;
  recordingId: number | undefined;
  digits: string;
  lastDigitAt: number;
}

type Row = {
  id: number;
  call_id: string;
  caller: string;
  callee: string;
  mode: Recording["mode"];
  file: string;
  started_at: number;
  duration_ms: number | null;
  bytes: number | null;
  status: Recording["status"];
  queue: string | null;
};

const toRecording = (r: Row): Recording => ({
  id: r.id,
  callId: r.call_id,
  caller: r.caller,
  callee: r.callee,
  mode: r.mode,
  file: r.file,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  bytes: r.bytes,
  status: r.status,
  queue: r.queue ?? null,
});

/** The recorder and the recordings' store. */
export class Recorder {
  readonly dir: string;
  readonly #o: RecorderOptions;
  /** Bridged calls by both of their legs. */
  #calls = new Map<string, Live>();
  #byCall = new Map<string, Live>();
  #off: () => void;
  #timer: TimerId | undefined;
  #closed = false;

  constructor(o: RecorderOptions) {
    this.#o = o;
    this.dir = `${o.dataDir}/recordings`;
    Deno.mkdirSync(this.dir, { recursive: true });
    // Rows a crash left "recording": the file is whole if the worker renamed it, else gone.
    for (const r of this.#rows("SELECT * FROM recordings WHERE status = 'recording'")) {
      this.#finish(r.id, null);
    }
    this.#off = o.media.on((ev) => {
      if (ev.event === "dtmf" && "digit" in ev) this.#onDigit(ev.legId, ev.digit);
      else if (ev.event === "recorded" && "reason" in ev) {
        this.#onRecorded(ev.legId, ev.reason, ev.durationMs);
      }
    });
    this.#schedule();
  }

  /** The current policy. */
  policy(): RecordingPolicy {
    const r = this.#o.db.prepare("SELECT config FROM recording_policy WHERE id = 1").get() as
      | { config: string }
      | undefined;
    return r === undefined ? { ...DEFAULT_POLICY } : { ...DEFAULT_POLICY, ...JSON.parse(r.config) };
  }

  /** Replace the policy (checked by `checkPolicy`). */
  setPolicy(p: RecordingPolicy): void {
    this.#o.db.prepare(
      "INSERT INTO recording_policy (id, config) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config",
    ).run(JSON.stringify(p));
  }

  /** Recordings, newest first; `party` limits them to calls that extension took part in. */
  list(options: { party?: string | undefined; limit?: number } = {}): Recording[] {
    const limit = options.limit ?? 500;
    const rows = options.party === undefined
      ? this.#rows("SELECT * FROM recordings ORDER BY started_at DESC, id DESC LIMIT ?", limit)
      : this.#rows(
        "SELECT * FROM recordings WHERE caller = ? OR callee = ? ORDER BY started_at DESC, id DESC LIMIT ?",
        options.party,
        options.party,
        limit,
      );
    return rows.map(toRecording);
  }

  get(id: number): Recording | undefined {
    const r = this.#rows("SELECT * FROM recordings WHERE id = ?", id)[0];
    return r === undefined ? undefined : toRecording(r);
  }

  /** The file's path. */
  pathOf(r: Recording): string {
    return `${this.dir}/${r.file}`;
  }

  /** Delete a recording's row and file (a recording in progress cannot be deleted: false). */
  delete(id: number): boolean {
    const r = this.get(id);
    if (r === undefined || r.status === "recording") return false;
    try {
      Deno.removeSync(this.pathOf(r));
    } catch { /* already gone */ }
    this.#o.db.prepare("DELETE FROM recordings WHERE id = ?").run(id);
    return true;
  }

  /** A call's legs were bridged: remember it (feature code), start recording when the policy says. */
  onBridged(call: RecordedCall): void {
    if (this.#closed) return;
    const live: Live = { call, recordingId: undefined, digits: "", lastDigitAt: 0 };
    this.#calls.set(call.aLegId, live);
    this.#calls.set(call.bLegId, live);
    this.#byCall.set(call.callId, live);
    const { alwaysExtensions: always, alwaysTrunks } = this.policy();
    if (
      call.always === true || always.includes(call.caller) || always.includes(call.callee) ||
      (call.trunk !== undefined && alwaysTrunks.includes(call.trunk))
    ) {
      void this.#start(live, "always");
    }
  }

  /** A call ended: forget it (its legs' release ends the recording, reported as "recorded"). */
  callEnded(callId: string): void {
    const live = this.#byCall.get(callId);
    if (live === undefined) return;
    this.#byCall.delete(callId);
    // Keep the legs until the worker reports the recording (release ends it); then they go.
    if (live.recordingId === undefined) {
      this.#calls.delete(live.call.aLegId);
      this.#calls.delete(live.call.bLegId);
    }
  }

  /** Start or stop recording a live call (the feature code, or the API); resolves with what it did. */
  async toggle(callId: string): Promise<"started" | "stopped" | "none"> {
    const live = this.#byCall.get(callId);
    if (live === undefined) return "none";
    if (live.recordingId !== undefined) {
      await this.#o.media.stopRecord(live.call.aLegId).catch(() => null);
      return "stopped";
    }
    return await this.#start(live, "on-demand") ? "started" : "none";
  }

  /** Bytes all finished recordings take. */
  usedBytes(): number {
    const r = this.#o.db.prepare("SELECT COALESCE(SUM(bytes), 0) AS n FROM recordings").get() as {
      n: number;
    };
    return Number(r.n);
  }

  /**
   * Apply retention now: recordings older than `retentionDays`, then the oldest while all of them
   * take more than `maxBytes`; one log line per deletion. Returns how many were deleted.
   */
  sweep(): number {
    const p = this.policy();
    const now = this.#o.clock.wallNow();
    let deleted = 0;
    if (p.retentionDays > 0) {
      const cutoff = now - p.retentionDays * 86_400_000;
      for (
        const r of this.#rows(
          "SELECT * FROM recordings WHERE status != 'recording' AND started_at < ?",
          cutoff,
        )
      ) {
        if (this.delete(r.id)) {
          deleted++;
          this.#o.log.info("recording deleted by retention (age)", {
            id: r.id,
            file: r.file,
            days: p.retentionDays,
          });
        }
      }
    }
    if (p.maxBytes > 0) deleted += this.#trim(p.maxBytes, false);
    return deleted;
  }

  /** Delete the oldest finished recordings while they take more than `max` (`room`: `max` or more). */
  #trim(max: number, room: boolean): number {
    let deleted = 0;
    let used = this.usedBytes();
    for (
      const r of this.#rows("SELECT * FROM recordings WHERE status != 'recording' ORDER BY started_at, id")
    ) {
      if (room ? used < max : used <= max) break;
      if (this.delete(r.id)) {
        deleted++;
        used -= r.bytes ?? 0;
        this.#o.log.info("recording deleted by retention (disk share)", {
          id: r.id,
          file: r.file,
          maxBytes: max,
        });
      }
    }
    return deleted;
  }

  /** Stop listening and the retention timer (recordings in progress end with their calls). */
  close(): void {
    this.#closed = true;
    this.#off();
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      try {
        this.sweep();
      } catch (e) {
        this.#o.log.error("recording retention failed", { error: e as Error });
      }
      this.#schedule();
    }, this.#o.sweepEveryMs ?? 3_600_000);
  }

  async #start(live: Live, mode: Recording["mode"]): Promise<boolean> {
    const { call } = live;
    const p = this.policy();
    // A full share makes room by deleting the oldest (retention's rule); what is still recording
    // cannot go, and then no new recording starts.
    if (p.maxBytes > 0 && this.usedBytes() >= p.maxBytes) this.#trim(p.maxBytes, true);
    if (p.maxBytes > 0 && this.usedBytes() >= p.maxBytes) {
      this.#o.log.warn("recording not started: the recordings' disk share is full", {
        call: call.callId,
        maxBytes: p.maxBytes,
      });
      return false;
    }
    const startedAt = this.#o.clock.wallNow();
    const safe = (s: string) => s.replace(/[^0-9A-Za-z*#+-]/g, "_").slice(0, 32);
    const file = `${new Date(startedAt).toISOString().replace(/[:.]/g, "-")}_${safe(call.caller)}_${
      safe(call.callee)
    }_${crypto.randomUUID().slice(0, 8)}.${p.format === "opus" ? "opus" : "wav"}`;
    const id = Number(
      this.#o.db.prepare(
        "INSERT INTO recordings (call_id, caller, callee, mode, file, started_at, status, queue) VALUES (?, ?, ?, ?, ?, ?, 'recording', ?)",
      ).run(call.callId, call.caller, call.callee, mode, file, startedAt, call.queue ?? null).lastInsertRowid,
    );
    live.recordingId = id;
    try {
      await this.#o.media.record(
        call.aLegId,
        `${this.dir}/${file}`,
        {
          ...(p.channels === "mixed" ? { mixed: true as const } : { stereo: true as const }),
          ...(p.format === "opus" ? { format: "opus" as const } : {}),
        },
      );
    } catch (e) {
      live.recordingId = undefined;
      this.#o.db.prepare("UPDATE recordings SET status = 'failed' WHERE id = ?").run(id);
      this.#o.log.warn("recording could not start; the call goes on", {
        call: call.callId,
        error: e as Error,
      });
      return false;
    }
    this.#o.log.info("recording started", {
      call: call.callId,
      id,
      mode,
      caller: call.caller,
      callee: call.callee,
      ...(call.queue !== undefined ? { queue: call.queue } : {}),
    });
    if (p.notice && this.#o.media.playTone) {
      for (const leg of [call.aLegId, call.bLegId]) {
        void this.#o.media.playTone(leg, "!1400/250", { durationMs: 250 }).catch(() => {});
      }
    }
    return true;
  }

  #onDigit(legId: string, digit: string): void {
    const live = this.#calls.get(legId);
    if (live === undefined || !this.#byCall.has(live.call.callId)) return;
    const code = this.policy().featureCode;
    const now = this.#o.clock.now();
    if (now - live.lastDigitAt > (this.#o.digitGapMs ?? 3000)) live.digits = "";
    live.lastDigitAt = now;
    live.digits = (live.digits + digit).slice(-code.length);
    if (live.digits !== code) return;
    live.digits = "";
    void this.toggle(live.call.callId).then((what) =>
      this.#o.log.info("recording feature code", { call: live.call.callId, by: legId, what })
    );
  }

  #onRecorded(legId: string, reason: string, durationMs: number): void {
    const live = this.#calls.get(legId);
    if (live === undefined || live.recordingId === undefined || live.call.aLegId !== legId) return;
    const id = live.recordingId;
    live.recordingId = undefined;
    if (reason === "error") {
      this.#o.log.warn("recording stopped: writing the file failed (disk full?); the call goes on", {
        call: live.call.callId,
        id,
      });
    } else this.#o.log.info("recording finished", { call: live.call.callId, id, reason, durationMs });
    this.#finish(id, reason === "error" ? "failed" : null, durationMs);
    if (!this.#byCall.has(live.call.callId)) {
      this.#calls.delete(live.call.aLegId);
      this.#calls.delete(live.call.bLegId);
    }
  }

  /** Close a row: its size from the file (failed when there is none). */
  #finish(id: number, status: "failed" | null, durationMs?: number): void {
    const r = this.#rows("SELECT * FROM recordings WHERE id = ?", id)[0];
    if (r === undefined) return;
    let bytes: number | null = null;
    try {
      bytes = Deno.statSync(`${this.dir}/${r.file}`).size;
    } catch { /* no file */ }
    this.#o.db.prepare("UPDATE recordings SET status = ?, bytes = ?, duration_ms = ? WHERE id = ?").run(
      status ?? (bytes === null ? "failed" : "done"),
      bytes,
      durationMs ??
        (bytes === null || !r.file.endsWith(".wav") ? null : Math.round(Math.max(0, bytes - 44) / 32)),
      id,
    );
  }

  // deno-lint-ignore no-explicit-any
  #rows(sql: string, ...args: any[]): Row[] {
    return this.#o.db.prepare(sql).all(...args) as Row[];
  }
}
