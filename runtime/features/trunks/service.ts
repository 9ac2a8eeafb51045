/**
 * The trunk service: what the engine asks at call time (is this INVITE from a trunk, and which DID;
 * the leg for a trunk step: permissions, channel limits, caller ID, E911 location), the number-plan
 * claims and routes of DIDs, outbound routes and emergency numbers, and the live state of each
 * trunk (registration, keepalive) the appliance reports.
 * @module
 */
import type { Clock } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";
import type { SettingsStore } from "../../storage/mod.ts";
import {
  type Claim,
  classifyIngress,
  type IngressRequest,
  parseIp,
  type PlanMatch,
  type Route,
  type Step,
  type TrunkIngress,
} from "../../call/route/mod.ts";
import type { InboundDecision, OutboundDecision, OutboundLeg, OutboundRequest } from "../../call/mod.ts";
import { type OutboundRoute, planPattern, type Trunk, trunkHop, trunkHostPart } from "./config.ts";
import type { TrunkStore } from "./store.ts";
import {
  DEFAULT_E911,
  describeLocation,
  E911_SETTING,
  type E911Settings,
  emergencyNumber,
  pidfLo,
} from "./e911.ts";
import type { Stir } from "./stir.ts";
import {
  DEFAULT_FRAUD,
  FRAUD_SETTING,
  type FraudCounterStore,
  FraudGuard,
  type FraudSettings,
} from "./fraud.ts";

/** A trunk's live state (dashboard, API). */
export interface TrunkState {
  registration?: {
    status: "registering" | "registered" | "failed" | "stopped";
    detail: string;
    lastStatus?: number;
    expiresAt?: number;
    retryAt?: number;
  };
  keepalive?: { status: "unknown" | "up" | "down"; lastStatus?: number; at?: number };
}

/** An alert the box raised (emergency call, fraud guard). */
export interface TrunkAlert {
  at: number;
  kind: "emergency" | "fraud";
  message: string;
  caller?: string;
}

/** What the service needs from the rest of the box. */
export interface TrunkServiceDeps {
  store: TrunkStore;
  settings: SettingsStore;
  clock: Clock;
  log: Logger;
  /** Live calls on a trunk (inbound and outbound). */
  activeCalls(trunk: string): number;
  /** Whether a number is an extension of the box. */
  isExtension(number: string): boolean;
  /** An extension's display name. */
  displayName?(extension: string): string | undefined;
  /** The box's address as the carrier reaches it (the domain of emergency entity URIs). */
  boxAddress: string;
  /** The device (MAC) assigned to an extension. */
  device?(extension: string): { mac: string } | undefined;
  /** The address an extension's phone registers from now. */
  currentAddress?(extension: string): string | undefined;
  /** Callers of the outside calls in progress (the fraud guard's concurrent limits). */
  outsideCallers?(): string[];
  /** Told when the fraud guard refuses a call for the first time in the hour (audit, email). */
  onFraud?(alert: { caller: string; reason: string; email: string[] }): void;
  /** STIR/SHAKEN signing of outbound calls (when configured). */
  stir?: Stir;
  /** Where the fraud guard's counters live (default memory only). */
  fraudCounters?: FraudCounterStore;
  /** Told at once on an emergency call (front desk ringing, page, email, audit: the appliance wires them). */
  onEmergency?(
    call: { caller: string; number: string; location: string; callback: string; test: boolean },
  ): void;
}

/** The trunk service (one per box). */
export class TrunkService {
  #d: TrunkServiceDeps;
  #states = new Map<string, TrunkState>();
  #resolved = new Map<string, { address: string; port?: number | undefined }>();
  #listeners = new Set<() => void>();
  #alerts: TrunkAlert[] = [];
  #notified = new Set<string>();
  #fraud: FraudGuard;
  #guarded = new Set<string>();

  constructor(deps: TrunkServiceDeps) {
    this.#d = deps;
    this.#fraud = new FraudGuard(deps.clock, deps.fraudCounters);
  }

  /** The fraud guard settings in force. */
  fraud(): FraudSettings {
    return { ...DEFAULT_FRAUD, ...this.#d.settings.get<FraudSettings>(FRAUD_SETTING) };
  }

  setFraud(s: FraudSettings): void {
    this.#d.settings.set(FRAUD_SETTING, s);
  }

  get store(): TrunkStore {
    return this.#d.store;
  }

  /** The E911 settings in force. */
  e911(): E911Settings {
    const s = this.#d.settings.get<E911Settings>(E911_SETTING);
    return s === undefined ? { ...DEFAULT_E911 } : { ...DEFAULT_E911, ...s };
  }

  setE911(s: E911Settings): void {
    this.#d.settings.set(E911_SETTING, s);
  }

  /** Told whenever trunks change (the appliance restarts registrations and keepalives). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Call after a trunk was written. */
  changed(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (e) {
        this.#d.log.error("trunk change listener failed", { error: e as Error });
      }
    }
  }

  state(id: string): TrunkState {
    return this.#states.get(id) ?? {};
  }

  setState(id: string, patch: TrunkState): void {
    this.#states.set(id, { ...this.#states.get(id), ...patch });
  }

  /** A host name's address, once resolved (IP literals are their own). */
  address(host: string): string | undefined {
    const h = host.replace(/^\[|\]$/g, "");
    return parseIp(h) !== undefined ? h : this.#resolved.get(host.toLowerCase())?.address;
  }

  /** The port DNS SRV gave for a host name, if it did (RFC 3263). */
  resolvedPort(host: string): number | undefined {
    return this.#resolved.get(host.toLowerCase())?.port;
  }

  /** Record what a host name resolved to (`port`: from SRV). */
  setResolved(host: string, address: string, port?: number): void {
    this.#resolved.set(host.toLowerCase(), { address, port });
  }

  /** A phone of `extension` registered from `address` (moved-phone detection, Ray Baum's Act). */
  registered(extension: string, address: string): void {
    if (this.#d.store.moved(extension)) return;
    if (this.#d.store.seen(extension, address)) {
      this.#d.log.warn("phone moved: E911 uses its device location until the extension's is confirmed", {
        extension,
        address,
      });
    }
  }

  alerts(): readonly TrunkAlert[] {
    return this.#alerts;
  }

  alert(a: Omit<TrunkAlert, "at">): void {
    this.#alerts.push({ at: this.#d.clock.wallNow(), ...a });
    if (this.#alerts.length > 200) this.#alerts.splice(0, this.#alerts.length - 200);
  }

  // --- the number plan ---

  /** DIDs (inbound scope), emergency numbers and outbound route patterns. */
  claims(): Claim[] {
    const out: Claim[] = [];
    const e = this.e911();
    const emergency = { kind: "outbound-route" as const, id: "emergency", label: "emergency calls" };
    for (const n of [...e.numbers, e.testNumber]) {
      out.push({ pattern: n, owner: emergency, purpose: "emergency" });
      for (const p of e.prefixes) out.push({ pattern: p + n, owner: emergency, purpose: "emergency" });
    }
    for (const d of this.#d.store.dids()) {
      out.push({
        pattern: d.number,
        scope: "inbound",
        owner: { kind: "trunk-did", id: d.number, label: `DID ${d.number}` },
      });
    }
    for (const r of this.#d.store.routes()) {
      if (!r.enabled) continue;
      for (const p of r.patterns) {
        out.push({
          pattern: planPattern(p),
          owner: { kind: "outbound-route", id: r.id, label: `outbound route ${r.id}` },
        });
      }
    }
    return out;
  }

  /** Whether `dialled` is an emergency number (never shed, never refused for permissions). */
  isEmergency(dialled: string): boolean {
    return emergencyNumber(dialled, this.e911()) !== undefined;
  }

  /** The route of a DID or an outbound route's number. */
  routeFor(match: PlanMatch): Route | undefined {
    const owner = match.claim.owner;
    if (owner.kind === "trunk-did") {
      const did = this.#d.store.dids().find((d) => d.number === owner.id);
      return did === undefined
        ? undefined
        : { steps: [{ destination: { kind: "dial", number: did.destination } }] };
    }
    if (owner.kind !== "outbound-route") return undefined;
    if (owner.id === "emergency") {
      const e = this.e911();
      const number = emergencyNumber(match.dialled, e);
      if (number === undefined) return undefined;
      if (e.testMode && number !== e.testNumber) {
        this.#d.log.warn("emergency test mode: emergency number refused", { dialled: match.dialled });
        return {
          steps: [{
            destination: {
              kind: "hangup",
              status: 403,
              reason: `Forbidden (emergency test mode: ${number} is blocked, dial ${e.testNumber})`,
            },
          }],
        };
      }
      return { steps: this.#trunkSteps(this.#emergencyTrunks(), number, "emergency") };
    }
    const route = this.#d.store.routes().find((r) => r.id === owner.id && r.enabled);
    if (route === undefined) return undefined;
    return { steps: this.#trunkSteps(route.trunks, route.prepend + match.stripped, route.id) };
  }

  #emergencyTrunks(): string[] {
    const routes = this.#d.store.routes().filter((r) => r.class === "emergency" && r.enabled);
    const ids = routes.length > 0 ? routes.flatMap((r) => r.trunks) : this.#d.store.trunks().map((t) => t.id);
    return [...new Set(ids)];
  }

  /** One step per trunk: failover on failed (5xx, 408, transport: see the router); the rest ends. */
  #trunkSteps(trunks: readonly string[], number: string, route: string): Step[] {
    return trunks.map((trunk) => ({
      destination: { kind: "trunk", trunk, number, route },
      on: { failed: "next", busy: "end", unavailable: "end", noAnswer: "end" },
    }));
  }

  // --- inbound ---

  /** What ingress sees of the enabled trunks. */
  ingress(): TrunkIngress[] {
    return this.#d.store.trunks().filter((t) => t.enabled).flatMap((t) => {
      if (t.addresses.length > 0) return [{ id: t.id, addresses: t.addresses }];
      const a = this.address(t.host);
      // A registration trunk's calls come from its registrar (its address and port).
      return a === undefined ? [] : [{ id: t.id, addresses: [a], port: this.resolvedPort(t.host) ?? t.port }];
    });
  }

  /**
   * An INVITE's ingress: undefined when no trunk's address matches (extension auth follows), a
   * refusal (no DID: 404; trunk full: 503), or the DID to route.
   */
  inbound(request: IngressRequest & { callerParams?: string }): InboundDecision | undefined {
    const ingress = classifyIngress(request, { trunks: this.ingress(), isExtension: this.#d.isExtension });
    if (ingress.kind !== "trunk") return undefined;
    const trunk = this.#d.store.trunk(ingress.trunk)!;
    const dialled = trunk.didFrom === "to" ? request.toUser ?? request.requestUser : request.requestUser;
    const did = dialled === undefined
      ? undefined
      : this.#d.store.dids().find((d) =>
        d.number === dialled && (d.trunk === undefined || d.trunk === trunk.id)
      );
    if (did === undefined) {
      this.#d.log.warn("trunk call to a number that is no DID refused", {
        trunk: trunk.id,
        dialled: (dialled ?? "").slice(0, 40),
        from: request.source.address,
      });
      return { kind: "refuse", status: 404, reason: "Not Found (no such DID)" };
    }
    if (trunk.maxChannels > 0 && this.#d.activeCalls(trunk.id) >= trunk.maxChannels) {
      this.#d.log.warn("trunk call refused: all channels busy", { trunk: trunk.id, max: trunk.maxChannels });
      return { kind: "refuse", status: 503, reason: "Service Unavailable (trunk channels busy)" };
    }
    return {
      kind: "accept",
      trunk: trunk.id,
      caller: request.fromUser ?? "anonymous",
      dialled: did.number,
      dtmf: trunk.dtmf,
      ...(request.callerParams === undefined ? {} : { callerParams: request.callerParams }),
    };
  }

  // --- outbound ---

  /** The leg of a trunk step for this caller, or why not. */
  async prepare(req: OutboundRequest): Promise<OutboundDecision> {
    const decision = this.#prepare(req);
    if (!decision.ok || this.#d.stir === undefined) return decision;
    // RFC 8224: the PASSporT signs the calling number the carrier sees (the asserted one).
    const origTn = decision.leg.headers.find((h) => h.name === "P-Asserted-Identity")?.value ??
      decision.leg.from;
    const tn = /sip:\+?([0-9]{1,20})@/.exec(origTn)?.[1];
    if (tn === undefined) return decision;
    const identity = await this.#d.stir.sign({
      origTn: tn,
      destTn: req.number,
      knownCaller: this.#d.isExtension(req.caller),
      ownedNumber: this.#d.store.dids().some((d) => d.number.replace(/^\+/, "") === tn),
    });
    if (identity !== undefined) {
      (decision.leg.headers as { name: string; value: string }[]).push({ name: "Identity", value: identity });
    }
    return decision;
  }

  #prepare(req: OutboundRequest): OutboundDecision {
    const d = this.#d;
    const trunk = d.store.trunk(req.trunk);
    if (trunk === undefined || !trunk.enabled) {
      return {
        ok: false,
        status: 503,
        reason: `Service Unavailable (trunk ${req.trunk} is off)`,
        failover: true,
      };
    }
    const route = req.route === "emergency" ? undefined : d.store.routes().find((r) => r.id === req.route);
    const cls = route?.class ?? (req.route === "emergency" ? "emergency" : "national");
    const emergency = cls === "emergency";
    // The extension the call is placed for: the caller, or the one whose forwarding sent it out.
    const account = req.onBehalfOf !== undefined && d.isExtension(req.onBehalfOf)
      ? req.onBehalfOf
      : req.caller;
    if (cls !== "emergency") {
      if (!d.isExtension(account)) {
        return { ok: false, status: 403, reason: "Forbidden (only extensions call out)" };
      }
      if (!d.store.classes(account).includes(cls)) {
        d.log.info("outside call refused: no permission", {
          caller: req.caller,
          ...(account !== req.caller ? { for: account } : {}),
          class: cls,
          dialled: req.dialled,
        });
        return {
          ok: false,
          status: 403,
          reason: `Forbidden (extension ${account} may not make ${cls} calls)`,
        };
      }
      if (trunk.maxChannels > 0 && d.activeCalls(trunk.id) >= trunk.maxChannels) {
        return {
          ok: false,
          status: 503,
          reason: `Service Unavailable (trunk ${trunk.id} channels busy)`,
          failover: true,
        };
      }
      // Once per call (the first trunk tried): failover to the next trunk is the same call.
      if (!this.#guarded.has(req.callId)) {
        const f = this.fraud();
        const verdict = this.#fraud.check(account, cls, d.outsideCallers?.() ?? [], f);
        if (!verdict.ok) {
          d.log.warn("SECURITY fraud guard refused an outside call", {
            caller: account,
            reason: verdict.reason,
          });
          if (verdict.alert) {
            this.alert({ kind: "fraud", caller: account, message: verdict.reason });
            try {
              d.onFraud?.({ caller: account, reason: verdict.reason, email: f.email });
            } catch (e) {
              d.log.error("fraud alert failed", { error: e as Error });
            }
          }
          return {
            ok: false,
            status: 403,
            reason: `Forbidden (fraud guard: ${verdict.reason})`.slice(0, 160),
          };
        }
        this.#guarded.add(req.callId);
        if (this.#guarded.size > 1000) this.#guarded.clear();
      }
    }
    const hop = trunkHop(trunk);
    const address = this.address(hop.host);
    if (address === undefined) {
      return {
        ok: false,
        status: 503,
        reason: `Service Unavailable (cannot resolve ${hop.host})`,
        failover: true,
      };
    }
    const e = this.e911();
    const callback = emergency
      ? this.#emergencyCallerId(trunk, req.caller, e)
      : route?.callerId ?? trunk.callerId ?? req.caller;
    const domain = trunk.fromDomain ?? trunk.host;
    const hostPart = trunkHostPart(trunk);
    const name = d.displayName?.(req.caller);
    const display = name !== undefined && name !== "" ? `"${name.replace(/["\\\r\n]/g, "")}" ` : "";
    const identity = `sip:${callback}@${domain}`;
    const anonymous = trunk.callerIdMode === "pai";
    const headers: { name: string; value: string }[] = [];
    if (trunk.callerIdMode !== "from") {
      headers.push({ name: "P-Asserted-Identity", value: `${display}<${identity}>` });
    }
    // RFC 3325: with PAI only, From is anonymous and Privacy: id asks the carrier to withhold it.
    if (anonymous) headers.push({ name: "Privacy", value: "id" });
    let password: string | undefined;
    try {
      password = d.store.password(trunk.id);
    } catch (e) {
      d.log.error("trunk password cannot be read", { trunk: trunk.id, error: (e as Error).message });
    }
    const leg: OutboundLeg = {
      ...(password !== undefined
        ? { auth: { username: trunk.authUsername ?? trunk.username ?? trunk.id, password } }
        : {}),
      trunk: trunk.id,
      uri: `sip:${req.number}@${hostPart}`,
      target: {
        transport: trunk.transport,
        address,
        port: (hop.srv ? this.resolvedPort(hop.host) : undefined) ?? hop.port,
      },
      from: anonymous
        ? `"Anonymous" <sip:anonymous@anonymous.invalid>`
        : `${display}<sip:${trunk.fromUser ?? callback}@${domain}>`,
      to: `<sip:${req.number}@${hostPart}>`,
      headers,
      dtmf: trunk.dtmf,
      ...(trunk.codecs.length > 0
        ? { codecs: trunk.dtmf === "rfc4733" ? [...trunk.codecs, "TELEPHONE-EVENT"] : trunk.codecs }
        : trunk.dtmf !== "rfc4733"
        ? { codecs: ["PCMU", "PCMA", "G722", "OPUS", "G729"] }
        : {}),
    };
    if (emergency) this.#emergency(req, leg, callback, e);
    return { ok: true, leg };
  }

  #emergencyCallerId(trunk: Trunk, caller: string, e: E911Settings): string {
    const r: OutboundRoute | undefined = this.#d.store.routes().find((x) =>
      x.class === "emergency" && x.enabled
    );
    return r?.emergencyCallerId ?? e.callbackNumber ?? r?.callerId ?? trunk.callerId ?? caller;
  }

  /** The caller's dispatchable location: the device's when the phone moved, else the extension's. */
  locationOf(caller: string): { location: ReturnType<TrunkStore["location"]>; moved: boolean } {
    const dev = this.#d.device?.(caller);
    const ext = this.#d.store.location("extension", caller);
    const devLoc = dev === undefined ? undefined : this.#d.store.location("device", dev.mac);
    if (this.#d.store.moved(caller)) return { location: devLoc ?? ext, moved: true };
    return { location: ext ?? devLoc, moved: false };
  }

  #emergency(req: OutboundRequest, leg: OutboundLeg, callback: string, e: E911Settings): void {
    const { location, moved } = this.locationOf(req.caller);
    const contentId = `loc-${crypto.randomUUID().slice(0, 8)}@${this.#d.boxAddress}`;
    if (location !== undefined) {
      (leg as { parts?: OutboundLeg["parts"] }).parts = [{
        contentType: "application/pidf+xml",
        contentId,
        body: pidfLo(location, {
          entity: `pres:${callback}@${this.#d.boxAddress}`,
          at: this.#d.clock.wallNow(),
        }),
      }];
      (leg.headers as { name: string; value: string }[]).push(
        { name: "Geolocation", value: `<cid:${contentId}>` },
        { name: "Geolocation-Routing", value: "yes" },
      );
    }
    // The callback number is asserted even on a trunk that presents caller ID in From only.
    if (!leg.headers.some((h) => h.name === "P-Asserted-Identity")) {
      (leg.headers as { name: string; value: string }[]).push({
        name: "P-Asserted-Identity",
        value: `<sip:${callback}@${
          this.#d.store.trunk(leg.trunk)?.fromDomain ?? this.#d.store.trunk(leg.trunk)?.host
        }>`,
      });
    }
    // Once per call, however many trunks it tries.
    if (this.#notified.has(req.callId)) return;
    this.#notified.add(req.callId);
    if (this.#notified.size > 1000) this.#notified.clear();
    const words = describeLocation(location);
    const test = e.testMode;
    this.alert({
      kind: "emergency",
      caller: req.caller,
      message: `${
        test ? "TEST " : ""
      }emergency call ${req.number} from ${req.caller} (callback ${callback}), ${words}${
        moved ? " (phone moved: device location)" : ""
      }`,
    });
    this.#d.log.warn("EMERGENCY call", {
      caller: req.caller,
      number: req.number,
      callback,
      location: words,
      moved,
      test,
    });
    try {
      this.#d.onEmergency?.({ caller: req.caller, number: req.number, location: words, callback, test });
    } catch (err) {
      this.#d.log.error("emergency notification failed", { error: err as Error });
    }
  }
}
