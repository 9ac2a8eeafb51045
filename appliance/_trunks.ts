/**
 * Trunk wiring: the registration clients and OPTIONS keepalives (runtime/sip/uac) of the trunks the
 * feature stores, restarted whenever trunks change, their state reported to the feature; and the
 * INVITE ingress check the dispatcher runs before extension auth.
 */
import type { Clock } from "../runtime/clock/mod.ts";
import type { Logger } from "../runtime/log/mod.ts";
import type { Peer, SipRequest } from "../runtime/sip/message/mod.ts";
import { getHeader, parseNameAddr, parseUri } from "../runtime/sip/message/mod.ts";
import type { TransactionLayer } from "../runtime/sip/mod.ts";
import {
  type DnsResolver,
  locateSipServers,
  nodeDnsResolver,
  OptionsPinger,
  RegistrationClient,
} from "../runtime/sip/uac/mod.ts";
import type { InboundDecision } from "../runtime/call/mod.ts";
import {
  type Stir,
  type Trunk,
  trunkHop,
  trunkHostPart,
  type TrunkService,
} from "../runtime/features/trunks/mod.ts";

/** Start the registrations and keepalives; returns the stop function (unregisters). */
export function startTrunkClients(options: {
  service: TrunkService;
  transactions: TransactionLayer;
  clock: Clock;
  log: Logger;
  publicAddress: string;
  sipPort: () => number;
  /** First retry after a failed registration (ms); default the client's 30 s. */
  retryMinMs?: number;
  /** DNS for trunk host names (RFC 3263 NAPTR/SRV/A); default node:dns. */
  resolver?: DnsResolver;
}): () => Promise<void> {
  const { service, log } = options;
  const dns = options.resolver ?? nodeDnsResolver();
  let regs: RegistrationClient[] = [];
  let pings: OptionsPinger[] = [];
  let generation = 0;

  // Each (re)start looks the names up again (RFC 3263: SRV then A for `lookup: srv`, else A).
  const resolve = async (
    host: string,
    how: { srv: boolean; port: number; transport: "udp" | "tcp" },
  ): Promise<{ address: string; port: number } | undefined> => {
    const ip = service.address(host);
    if (ip !== undefined && host.replace(/^\[|\]$/g, "") === ip) return { address: ip, port: how.port };
    try {
      const [first] = await locateSipServers(host, {
        transport: how.transport,
        ...(how.srv ? {} : { port: how.port }),
        resolver: dns,
      });
      if (first === undefined) throw new Error(`${host} does not resolve`);
      service.setResolved(host, first.address, how.srv ? first.port : undefined);
      log.info("trunk host located", { host, address: first.address, port: first.port, via: first.via });
      return { address: first.address, port: first.port };
    } catch (e) {
      log.warn("trunk host does not resolve", { host, error: (e as Error).message });
      return undefined;
    }
  };

  const stopAll = async () => {
    const r = regs, p = pings;
    regs = [];
    pings = [];
    for (const x of p) x.stop();
    await Promise.all(r.map((x) => x.stop().catch(() => {})));
  };

  const startAll = async () => {
    const mine = ++generation;
    await stopAll();
    for (const t of service.store.trunks()) {
      if (!t.enabled) continue;
      const hop = trunkHop(t);
      const located = await resolve(hop.host, { ...hop, transport: t.transport });
      if (t.outboundProxy !== undefined) {
        const { outboundProxy: _proxy, ...direct } = t;
        await resolve(t.host, { ...trunkHop(direct as Trunk), transport: t.transport });
      }
      if (mine !== generation) return; // trunks changed again meanwhile
      if (located === undefined) {
        service.setState(t.id, {
          ...(t.kind === "register"
            ? { registration: { status: "failed", detail: `cannot resolve ${hop.host}` } }
            : {}),
        });
        continue;
      }
      const peer: Peer = { transport: t.transport, address: located.address, port: located.port };
      const via = { transport: t.transport, host: options.publicAddress, port: options.sipPort() };
      const hostPart = trunkHostPart(t);
      const domain = t.fromDomain ?? t.host;
      if (t.kind === "register" && t.username !== undefined) {
        let password: string | undefined;
        try {
          password = service.store.password(t.id);
        } catch (e) {
          log.error("trunk password cannot be read (secret.key changed?)", {
            trunk: t.id,
            error: (e as Error).message,
          });
        }
        if (password === undefined) {
          service.setState(t.id, { registration: { status: "failed", detail: "no password set" } });
        } else {
          const client = new RegistrationClient({
            registrar: `sip:${hostPart}`,
            peer,
            aor: `sip:${t.username}@${domain}`,
            username: t.authUsername ?? t.username,
            password,
            contact: `sip:${t.username}@${options.publicAddress}:${options.sipPort()}`,
            expires: t.expires,
            via,
          }, {
            transactions: options.transactions,
            clock: options.clock,
            ...(options.retryMinMs !== undefined ? { retryMinMs: options.retryMinMs } : {}),
            onState: (s) => {
              const { failures: _f, ...registration } = s;
              service.setState(t.id, { registration });
              // The state never carries the password; the log line names the trunk and the outcome only.
              if (s.status === "failed") {
                log.warn("trunk registration failed", { trunk: t.id, detail: s.detail });
              } else if (s.status === "registered") {
                log.info("trunk registered", { trunk: t.id, detail: s.detail });
              }
            },
          });
          regs.push(client);
          client.start();
        }
      }
      if (t.keepaliveSeconds > 0) {
        const pinger = new OptionsPinger({
          transactions: options.transactions,
          clock: options.clock,
          peer,
          uri: `sip:${hostPart}`,
          via,
          from: `sip:pbx@${options.publicAddress}`,
          intervalMs: t.keepaliveSeconds * 1000,
          onState: (s) => {
            service.setState(t.id, { keepalive: s });
            log.info("trunk keepalive", { trunk: t.id, status: s.status, lastStatus: s.lastStatus });
          },
        });
        pings.push(pinger);
        pinger.start();
      }
    }
  };

  const off = service.onChange(() =>
    void startAll().catch((e) => log.error("trunk start failed", { error: e as Error }))
  );
  void startAll().catch((e) => log.error("trunk start failed", { error: e as Error }));
  return async () => {
    off();
    generation++;
    await stopAll();
  };
}

/**
 * The dispatcher's trunk ingress: the request's addressing handed to the feature, then (a call
 * it takes) the STIR/SHAKEN check of its Identity header: the verstat goes to the phone in the
 * caller's From URI; with the reject policy a failed check is refused with its RFC 8224 code.
 */
export function trunkInbound(
  service: TrunkService,
  stir: Stir,
  log: Logger,
): (req: SipRequest, source: Peer) => Promise<InboundDecision | undefined> {
  const userOf = (header: string | undefined): string | undefined => {
    if (header === undefined) return undefined;
    try {
      return parseUri(parseNameAddr(header).uri).user;
    } catch {
      return undefined;
    }
  };
  return async (req, source) => {
    if (service.store.trunks().length === 0) return undefined;
    let requestUser: string | undefined;
    try {
      requestUser = parseUri(req.uri).user;
    } catch {
      requestUser = undefined;
    }
    const decision = service.inbound({
      source: { address: source.address, port: source.port, transport: source.transport },
      fromUser: userOf(getHeader(req, "From")),
      toUser: userOf(getHeader(req, "To")),
      requestUser,
    });
    if (decision?.kind !== "accept") return decision;
    const pai = getHeader(req, "P-Asserted-Identity");
    const checked = await stir.verify({
      identity: getHeader(req, "Identity"),
      from: getHeader(req, "From") ?? "",
      to: getHeader(req, "To") ?? "",
      ...(pai !== undefined ? { pai } : {}),
      requestUri: req.uri,
    });
    if (checked === undefined) return decision;
    const r = checked.result;
    log.info("STIR/SHAKEN", {
      trunk: decision.trunk,
      caller: decision.caller,
      verstat: r.verstat,
      ...(r.attest !== undefined ? { attest: r.attest } : {}),
      ...(r.failure !== undefined ? { failure: r.failure, reason: r.reason } : {}),
    });
    if (checked.reject) {
      return {
        kind: "refuse",
        status: r.sipCode ?? 438,
        reason: `Invalid Identity (${r.reason})`.slice(0, 120),
      };
    }
    return { ...decision, callerParams: `verstat=${r.verstat}` };
  };
}
