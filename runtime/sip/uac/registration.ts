/**
 * The box as a registration client (RFC 3261 section 10.2): a trunk's REGISTER toward a carrier's
 * registrar with digest credentials (401 WWW-Authenticate and 407 Proxy-Authenticate, RFC 3261
 * 22.2/22.3), a refresh before the binding expires, 423 Min-Expires (10.2.8), and an exponential
 * back-off after a failure. The state it reports is what the dashboard shows.
 *
 * The password is only ever used to compute the digest here; it is never logged or reported.
 * @module
 */
import type { Clock, TimerId } from "../../clock/mod.ts";
import type { Peer, SipRequest, SipResponse } from "../message/types.ts";
import { formatVia, getHeader, getHeaderValues, parseNameAddr } from "../message/mod.ts";
import { computeAuthorization, parseAuthParams } from "../auth/mod.ts";
import { newBranch, newCallId, newTag } from "../transaction/mod.ts";
import type { ClientTransactionHandlers } from "../transaction/mod.ts";
import type { ViaAddress } from "../dialog/mod.ts";

/** What a trunk registers. */
export interface RegistrationSpec {
  /** Request-URI of the REGISTER: `sip:carrier.example` (RFC 3261 10.2: the registrar's domain). */
  registrar: string;
  /** Where the REGISTER is sent (the registrar, or the trunk's outbound proxy). */
  peer: Peer;
  /** Address of record (To and From): `sip:user@carrier.example`. */
  aor: string;
  /** Digest username (often the AOR's user). */
  username: string;
  password: string;
  /** The box's Contact URI for this trunk: `sip:user@192.0.2.1:5060`. */
  contact: string;
  /** Requested expiry in seconds. */
  expires: number;
  /** The box's sent-by for the Via. */
  via: ViaAddress;
}

/** Where a registration stands. */
export interface RegistrationState {
  status: "registering" | "registered" | "failed" | "stopped";
  /** The last final status received (or 408/503 for a timeout or a transport failure). */
  lastStatus?: number;
  /** Words for people: "registered for 300 s", "403 Forbidden", "wrong credentials". */
  detail: string;
  /** Wall-clock ms the binding expires at (registered). */
  expiresAt?: number;
  /** Wall-clock ms of the next attempt (failed, in back-off). */
  retryAt?: number;
  /** Failures in a row. */
  failures: number;
}

/** What the client sends with. */
export interface RegistrationTransport {
  sendRequest(req: SipRequest, target: Peer, handlers: ClientTransactionHandlers): unknown;
}

/** Options of a {@link RegistrationClient}. */
export interface RegistrationClientOptions {
  transactions: RegistrationTransport;
  clock: Clock;
  onState?: (state: RegistrationState) => void;
  /** First retry after a failure (ms, default 30 s); doubled per failure up to `retryMaxMs`. */
  retryMinMs?: number;
  /** Longest wait between attempts (default 30 min). */
  retryMaxMs?: number;
  /** User-Agent header value. */
  userAgent?: string;
}

/** When to refresh a binding of `expires` seconds: halfway for short ones, else 30 s early (ms). */
export function refreshDelayMs(expires: number): number {
  const s = expires <= 60 ? expires / 2 : Math.max(expires / 2, expires - 30);
  return Math.max(1, Math.round(s * 1000));
}

/** The back-off before attempt `failures + 1` (ms): min * 2^(failures-1), capped. */
export function backoffMs(failures: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(failures - 1, 20)));
}

/**
 * One trunk's registration. `start()` registers and keeps it fresh; `stop()` removes the binding
 * (REGISTER with Expires: 0) and stops the timers.
 */
export class RegistrationClient {
  #spec: RegistrationSpec;
  #o: RegistrationClientOptions;
  #callId = newCallId();
  #fromTag = newTag();
  #cseq = 0;
  #timer: TimerId | undefined;
  #stopped = true;
  #state: RegistrationState = { status: "stopped", detail: "not started", failures: 0 };
  /**
   * Challenges answered in this attempt: a challenge after our credentials (a fresh nonce, not
   * stale) means they were refused; a stale one is answered again, a few times at most.
   */
  #answered = 0;
  #expires: number;

  constructor(spec: RegistrationSpec, options: RegistrationClientOptions) {
    if (!/^sips?:/i.test(spec.registrar) || !/^sips?:/i.test(spec.aor) || !/^sips?:/i.test(spec.contact)) {
      throw new TypeError("registration needs sip: URIs for the registrar, the AOR and the contact");
    }
    if (!(Number.isInteger(spec.expires) && spec.expires >= 1)) {
      throw new RangeError(`registration expiry must be a whole number of seconds >= 1, got ${spec.expires}`);
    }
    this.#spec = spec;
    this.#o = options;
    this.#expires = spec.expires;
  }

  /** The current state (a copy). */
  get state(): RegistrationState {
    return { ...this.#state };
  }

  /** Register now and keep the binding fresh. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#attempt();
  }

  /** Stop refreshing and remove the binding at the registrar (best effort, resolves on its answer). */
  stop(): Promise<void> {
    const wasRegistered = this.#state.status === "registered";
    this.#stopped = true;
    this.#clear();
    this.#set({ status: "stopped", detail: "stopped", failures: 0 });
    if (!wasRegistered) return Promise.resolve();
    return new Promise((resolve) => {
      this.#answered = 0;
      const send = (auth?: { header: string; value: string }) => {
        const req = this.#request(0, auth);
        try {
          this.#o.transactions.sendRequest(req, this.#spec.peer, {
            onResponse: (res) => {
              if (res.status < 200) return;
              const again = res.status === 401 || res.status === 407 ? this.#authFor(req, res) : undefined;
              if (again !== undefined) send(again);
              else resolve();
            },
            onTimeout: () => resolve(),
            onTransportError: () => resolve(),
          });
        } catch {
          resolve();
        }
      };
      send();
    });
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #set(state: RegistrationState): void {
    this.#state = state;
    this.#o.onState?.({ ...state });
  }

  #attempt(): void {
    if (this.#stopped) return;
    this.#answered = 0;
    if (this.#state.status !== "registered") {
      this.#set({ ...this.#state, status: "registering", detail: "registering" });
    }
    this.#send();
  }

  #send(auth?: { header: string; value: string }): void {
    const req = this.#request(this.#expires, auth);
    try {
      this.#o.transactions.sendRequest(req, this.#spec.peer, {
        onResponse: (res) => this.#onResponse(req, res),
        onTimeout: () => this.#fail(408, "no answer from the registrar"),
        onTransportError: () => this.#fail(503, "the registrar cannot be reached"),
      });
    } catch (e) {
      this.#fail(503, `sending failed: ${(e as Error).message}`);
    }
  }

  #request(expires: number, auth?: { header: string; value: string }): SipRequest {
    const s = this.#spec;
    const headers = [
      {
        name: "Via",
        value: formatVia({
          protocol: "SIP/2.0",
          transport: s.via.transport.toUpperCase(),
          host: s.via.host,
          port: s.via.port,
          params: new Map<string, string | null>([["branch", newBranch()], ["rport", null]]),
        }),
      },
      { name: "Max-Forwards", value: "70" },
      { name: "From", value: `<${s.aor}>;tag=${this.#fromTag}` },
      { name: "To", value: `<${s.aor}>` },
      { name: "Call-ID", value: this.#callId },
      { name: "CSeq", value: `${++this.#cseq} REGISTER` },
      { name: "Contact", value: `<${s.contact}>` },
      { name: "Expires", value: String(expires) },
      { name: "User-Agent", value: this.#o.userAgent ?? "pbx-appliance" },
    ];
    if (auth !== undefined) headers.push({ name: auth.header, value: auth.value });
    return { type: "request", method: "REGISTER", uri: s.registrar, headers, body: new Uint8Array(0) };
  }

  /** The credentials answering a 401/407, or undefined when this challenge cannot be answered again. */
  #authFor(req: SipRequest, res: SipResponse): { header: string; value: string } | undefined {
    const proxy = res.status === 407;
    const challenges = getHeaderValues(res, proxy ? "Proxy-Authenticate" : "WWW-Authenticate");
    for (const challenge of challenges) {
      let nonce: string | undefined, stale = false;
      try {
        const p = parseAuthParams(challenge);
        if (p.scheme.toLowerCase() !== "digest") continue;
        nonce = p.params.get("nonce");
        stale = (p.params.get("stale") ?? "").toLowerCase() === "true";
      } catch {
        continue;
      }
      if (nonce === undefined || (this.#answered > 0 && !stale) || this.#answered >= 3) continue;
      try {
        const value = computeAuthorization({
          method: "REGISTER",
          uri: req.uri,
          username: this.#spec.username,
          password: this.#spec.password,
          challenge,
        });
        this.#answered++;
        return { header: proxy ? "Proxy-Authorization" : "Authorization", value };
      } catch {
        continue; // an algorithm we cannot answer: maybe the next challenge
      }
    }
    return undefined;
  }

  #onResponse(req: SipRequest, res: SipResponse): void {
    if (this.#stopped || res.status < 200) return;
    if (res.status === 401 || res.status === 407) {
      const auth = this.#authFor(req, res);
      if (auth !== undefined) return this.#send(auth);
      return this.#fail(res.status, this.#answered > 0 ? "credentials refused" : "challenge not understood");
    }
    if (res.status === 423) {
      const min = Number(getHeader(res, "Min-Expires"));
      if (Number.isInteger(min) && min > this.#expires && min <= 86400) {
        this.#expires = min;
        return this.#send();
      }
      return this.#fail(423, "423 Interval Too Brief without a usable Min-Expires");
    }
    if (res.status >= 300) return this.#fail(res.status, `${res.status} ${res.reason}`);
    const granted = this.#grantedExpires(res);
    const now = this.#o.clock.wallNow();
    this.#set({
      status: "registered",
      lastStatus: res.status,
      detail: `registered for ${granted} s`,
      expiresAt: now + granted * 1000,
      failures: 0,
    });
    this.#clear();
    this.#timer = this.#o.clock.setTimeout(() => this.#attempt(), refreshDelayMs(granted));
  }

  /** The expiry the registrar granted our contact (its Contact's expires, else Expires, else ours). */
  #grantedExpires(res: SipResponse): number {
    const mine = this.#spec.contact.toLowerCase();
    for (const value of getHeaderValues(res, "Contact")) {
      try {
        const na = parseNameAddr(value);
        if (na.uri.toLowerCase() !== mine) continue;
        const e = Number(na.params.get("expires"));
        if (Number.isInteger(e) && e > 0) return e;
      } catch { /* a contact we cannot parse is not ours */ }
    }
    const header = Number(getHeader(res, "Expires"));
    return Number.isInteger(header) && header > 0 ? header : this.#expires;
  }

  #fail(status: number, detail: string): void {
    if (this.#stopped) return;
    const failures = this.#state.failures + 1;
    const wait = backoffMs(failures, this.#o.retryMinMs ?? 30_000, this.#o.retryMaxMs ?? 1_800_000);
    this.#set({
      status: "failed",
      lastStatus: status,
      detail,
      retryAt: this.#o.clock.wallNow() + wait,
      failures,
    });
    this.#clear();
    this.#timer = this.#o.clock.setTimeout(() => this.#attempt(), wait);
  }
}
