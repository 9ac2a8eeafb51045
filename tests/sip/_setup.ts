/**
 * Shared set-up for the SIP end-to-end tests: an appliance with three extensions, and sipp phones
 * that register their own port as the contact.
 */
import {
  type Api,
  type Appliance,
  runSipp,
  type SippResult,
  startAppliance,
  startSipp,
} from "../_harness/mod.ts";
import type { SippRun } from "../_harness/sipp.ts";

/** Extensions every test gets, with passwords that pass the box's rules. */
export const EXT = {
  "201": "Tiger-Lake-91",
  "202": "Otter-Pond-57",
  "203": "Heron-Bay-38",
} as const;

/** A started appliance with the three extensions created through the API. */
export interface Pbx {
  app: Appliance;
  api: Api;
  target: string;
}

/** Start the appliance (or another `entry` module that starts it) and create the extensions. */
export async function startPbx(
  env: Record<string, string> = {},
  options: { entry?: string } = {},
): Promise<Pbx> {
  const app = await startAppliance({ env: { PBX_LOG_LEVEL: "debug", ...env }, ...options });
  try {
    const api = await app.adminApi();
    for (const [number, password] of Object.entries(EXT)) {
      await api.createExtension({ number, name: `Phone ${number}`, password });
    }
    return { app, api, target: `127.0.0.1:${app.sipPort}` };
  } catch (e) {
    await app.stop();
    throw e;
  }
}

/** REGISTER `ext` with its own credentials, the contact being `contactPort` on 127.0.0.1. */
export function register(pbx: Pbx, ext: keyof typeof EXT, contactPort?: number): Promise<SippResult> {
  const keys: Record<string, string> = {};
  if (contactPort !== undefined) keys.contact_port = String(contactPort);
  return runSipp({ scenario: "register_auth.xml", target: pbx.target, user: ext, password: EXT[ext], keys });
}

/** Start a sipp UAS with `scenario` and register its port as `ext`'s contact. */
export async function phone(
  pbx: Pbx,
  ext: keyof typeof EXT,
  scenario: string,
  options: { timeoutSec?: number; calls?: number } = {},
): Promise<SippRun> {
  // Forget contacts of earlier steps, or calls would fork to sipp processes that are gone.
  assertOk(
    await runSipp({ scenario: "unregister.xml", target: pbx.target, user: ext, password: EXT[ext] }),
    "unregister",
  );
  const uas = await startSipp({ scenario, timeoutSec: options.timeoutSec ?? 40, calls: options.calls ?? 1 });
  const reg = await register(pbx, ext, uas.localPort);
  if (!reg.ok) {
    await uas.stop();
    throw new Error(`registering ${ext} failed:\n${reg.output.slice(-1500)}\n${reg.errors}`);
  }
  return uas;
}

/** Place a call from `from` to `to` with a caller scenario. */
export function call(
  pbx: Pbx,
  from: keyof typeof EXT,
  to: string,
  scenario: string,
  timeoutSec = 40,
): Promise<SippResult> {
  return runSipp({ scenario, target: pbx.target, user: from, password: EXT[from], service: to, timeoutSec });
}

/** Assert a sipp run succeeded, with its output in the message. */
export function assertOk(r: SippResult, what: string): void {
  if (!r.ok) {
    throw new Error(
      `${what}: sipp exit ${r.code}\n${r.output.slice(-2000)}\nerrors:\n${r.errors.slice(-2000)}`,
    );
  }
}

/** One call record as the API returns it. */
export interface Cdr {
  callId: string;
  /** Shared by every record of one call (route steps, transfer legs). */
  linkedId: string;
  reason?: string;
  caller: string;
  callee: string;
  disposition: string;
  hangupBy: string;
  sipCode: number;
  durationMs: number;
  billsecMs: number;
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
}

/** Wait until the CDR list has `count` records, newest first. */
export async function cdrs(pbx: Pbx, count: number, timeoutMs = 10_000): Promise<Cdr[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { items } = await pbx.api.get<{ items: Cdr[] }>("/api/cdr");
    if (items.length >= count || Date.now() > until) return items;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Run a test step body; on failure, add the tail of the appliance log to the error. */
export function withLogs(pbx: Pbx, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (e) {
      const tail = pbx.app.logs().split("\n").slice(-60).join("\n");
      (e as Error).message += `\n--- appliance log (last 60 lines) ---\n${tail}`;
      throw e;
    }
  };
}
