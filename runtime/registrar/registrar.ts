/**
 * The registrar (RFC 3261 section 10.3): authenticated REGISTER binds contacts to an extension's
 * address of record, several per extension, with expiry, refresh, removal (Expires: 0 and `*`) and
 * Min-Expires (423). Bindings live in a LocationStore so they survive a restart; the 200 OK is only
 * sent after the store acknowledged the write.
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import {
  addHeader,
  createResponse,
  getHeader,
  getHeaderValues,
  parseCSeq,
  parseNameAddr,
  parseUri,
} from "../sip/message/mod.ts";
import type { Clock } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";

/** One contact bound to an extension: the storage layer's binding record. */
export type { Binding } from "../storage/mod.ts";
import type { Binding } from "../storage/mod.ts";

/** Persistence of bindings; implemented by runtime/storage. */
export interface LocationStore {
  getBindings(extension: string, now: number): Binding[];
  /** Resolves once the write is durable. */
  upsert(binding: Binding): Promise<void> | void;
  remove(extension: string, contactUri: string): Promise<void> | void;
  removeAll(extension: string): Promise<void> | void;
  purgeExpired(now: number): number;
  listAll(now: number): Binding[];
}

/** Options for the registrar. */
export interface RegistrarOptions {
  locations: LocationStore;
  /** True when the extension exists. */
  extensionExists(number: string): boolean;
  clock: Clock;
  log: Logger;
  minExpires?: number;
  maxExpires?: number;
  defaultExpires?: number;
  maxContacts?: number;
  /** Told after every change, for live status. */
  onChange?(extension: string): void;
}

/** Seconds a binding is kept past its expiry time before it is forgotten. */
const EXPIRY_GRACE_MS = 0;

/**
 * Handle a REGISTER that already passed authentication as `username`. Returns the response.
 */
export async function handleRegister(
  req: SipRequest,
  context: { username: string; source: Peer },
  options: RegistrarOptions,
): Promise<SipResponse> {
  const { locations, clock, log } = options;
  const minExpires = options.minExpires ?? 60;
  const maxExpires = options.maxExpires ?? 3600;
  const defaultExpires = options.defaultExpires ?? 3600;
  const maxContacts = options.maxContacts ?? 10;

  const to = getHeader(req, "To");
  if (to === undefined) return createResponse(req, 400, { reason: "Missing To" });
  let aorUser: string | undefined;
  try {
    aorUser = parseUri(parseNameAddr(to).uri).user;
  } catch {
    return createResponse(req, 400, { reason: "Bad To header" });
  }
  if (aorUser === undefined || !options.extensionExists(aorUser)) {
    return createResponse(req, 404, { reason: "Not Found (no such extension)" });
  }
  // RFC 3261 10.3 step 3: the authenticated user must be allowed to register this AOR.
  if (aorUser !== context.username) {
    return createResponse(req, 403, { reason: "Forbidden (credentials do not match the To user)" });
  }
  const callId = getHeader(req, "Call-ID") ?? "";
  const cseqHeader = getHeader(req, "CSeq");
  const cseq = cseqHeader ? parseCSeq(cseqHeader).seq : 0;
  const now = clock.wallNow();
  const expiresHeader = getHeader(req, "Expires");
  const headerExpires = expiresHeader !== undefined && /^\d+$/.test(expiresHeader.trim())
    ? Number(expiresHeader.trim())
    : undefined;
  const contacts = getHeaderValues(req, "Contact");

  if (contacts.some((c) => c.trim() === "*")) {
    // RFC 3261 10.3 step 6: "*" only alone and only with Expires: 0.
    if (contacts.length !== 1 || headerExpires !== 0) {
      return createResponse(req, 400, { reason: "Contact * needs Expires: 0 and no other contact" });
    }
    await locations.removeAll(aorUser);
    log.info("all contacts unregistered", { extension: aorUser });
    options.onChange?.(aorUser);
    return okWithBindings(req, [], now);
  }

  const existing = locations.getBindings(aorUser, now);
  const userAgent = getHeader(req, "User-Agent");
  const path = getHeaderValues(req, "Path");
  let changed = false;
  for (const raw of contacts) {
    let na;
    try {
      na = parseNameAddr(raw);
      parseUri(na.uri);
    } catch {
      return createResponse(req, 400, { reason: "Bad Contact" });
    }
    const expParam = na.params.get("expires");
    let expires = expParam !== undefined && expParam !== null && /^\d+$/.test(expParam)
      ? Number(expParam)
      : headerExpires ?? defaultExpires;
    const prior = existing.find((b) => b.contactUri === na.uri);
    if (prior && prior.callId === callId && prior.cseq >= cseq) {
      // RFC 3261 10.3 step 7: an out-of-order REGISTER must not change the binding.
      return createResponse(req, 500, { reason: "Out of order REGISTER (CSeq not higher)" });
    }
    if (expires === 0) {
      if (prior) {
        await locations.remove(aorUser, na.uri);
        changed = true;
      }
      continue;
    }
    if (expires < minExpires) {
      const res = createResponse(req, 423);
      addHeader(res, "Min-Expires", String(minExpires));
      return res;
    }
    expires = Math.min(expires, maxExpires);
    if (!prior && existing.length >= maxContacts) {
      // Replace the binding closest to expiry rather than refuse a phone that rebooted.
      const oldest = [...existing].sort((a, b) => a.expiresAt - b.expiresAt)[0];
      if (oldest) {
        await locations.remove(aorUser, oldest.contactUri);
        existing.splice(existing.indexOf(oldest), 1);
      }
    }
    const qParam = na.params.get("q");
    const instance = na.params.get("+sip.instance");
    const binding: Binding = {
      extension: aorUser,
      contactUri: na.uri,
      expiresAt: now + expires * 1000 + EXPIRY_GRACE_MS,
      callId,
      cseq,
      sourceTransport: context.source.transport,
      sourceAddress: context.source.address,
      sourcePort: context.source.port,
      updatedAt: now,
    };
    if (qParam !== undefined && qParam !== null && !Number.isNaN(Number(qParam))) binding.q = Number(qParam);
    if (instance !== undefined && instance !== null) binding.instanceId = instance.replace(/^"|"$/g, "");
    if (userAgent !== undefined) binding.userAgent = userAgent;
    if (path.length > 0) binding.path = path;
    await locations.upsert(binding);
    if (!prior) existing.push(binding);
    // A plain refresh (same flow, same phone) is not news: no listeners, no info log line.
    const refresh = prior !== undefined && prior.sourceAddress === binding.sourceAddress &&
      prior.sourcePort === binding.sourcePort && prior.sourceTransport === binding.sourceTransport &&
      prior.userAgent === binding.userAgent;
    if (!refresh) changed = true;
  }
  const current = locations.getBindings(aorUser, now);
  if (!changed) {
    log.debug("registration refreshed", { extension: aorUser, contacts: current.length });
  } else {
    log.info("registered", {
      extension: aorUser,
      contacts: current.length,
      source: `${context.source.transport}:${context.source.address}:${context.source.port}`,
    });
    options.onChange?.(aorUser);
  }
  return okWithBindings(req, current, now);
}

function okWithBindings(req: SipRequest, bindings: Binding[], now: number): SipResponse {
  const res = createResponse(req, 200);
  for (const b of bindings) {
    const left = Math.max(0, Math.round((b.expiresAt - now) / 1000));
    addHeader(res, "Contact", `<${b.contactUri}>;expires=${left}`);
  }
  addHeader(res, "Date", new Date(now).toUTCString());
  return res;
}

/** Periodically forgets expired bindings; returns a stop function. */
export function startExpiryTimer(
  options: { locations: LocationStore; clock: Clock; intervalMs?: number; onExpired?(n: number): void },
): () => void {
  const interval = options.intervalMs ?? 15_000;
  let timer = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const n = options.locations.purgeExpired(options.clock.wallNow());
    if (n > 0) options.onExpired?.(n);
    timer = options.clock.setTimeout(tick, interval);
  };
  timer = options.clock.setTimeout(tick, interval);
  return () => {
    stopped = true;
    options.clock.clearTimeout(timer);
  };
}
