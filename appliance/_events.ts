/**
 * Wires the SUBSCRIBE/NOTIFY core (runtime/call/events) into the appliance: the SQLite store, the
 * dialog, presence and message-summary packages fed from one ExtensionStateHub and one
 * MessageSummaryState, and the ua-profile (SIP plug-and-play) package, which answers a phone at
 * boot with its provisioning URL (no credentials: phones have none yet).
 */
import type { Logger } from "../runtime/log/mod.ts";
import type { Clock } from "../runtime/clock/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import type { Authorizer, Binding } from "../runtime/registrar/mod.ts";
import { getHeader, type Peer, type SipRequest } from "../runtime/sip/mod.ts";
import {
  attachExtensionState,
  attachMessageSummary,
  createSqliteSubscriptionStore,
  dialogPackage,
  EventCore,
  type EventLimits,
  type EventPackage,
  type EventServerTransaction,
  type EventTransactions,
  ExtensionStateHub,
  messageSummaryPackage,
  MessageSummaryState,
  presencePackage,
  type SubscriptionDialogs,
  unsolicitedMwiRequest,
} from "../runtime/call/events/mod.ts";
import { answerPnpSubscribe, type PnpAnswer } from "../provisioning/mod.ts";

/** The running events service. */
export interface EventsService {
  core: EventCore;
  /** Feed per-extension dialogs and presence here (B2BUA changes, registrations). */
  hub: ExtensionStateHub;
  /** Mailbox counts for message-summary (REST API today, voicemail later). */
  mwi: MessageSummaryState;
  /** The dispatcher hook: every SUBSCRIBE. */
  hook(req: SipRequest, tx: EventServerTransaction | undefined, source: Peer): boolean;
  close(): void;
}

/** Start the events core; call `core.restore()` once the SIP transport is up. */
export function startEvents(options: {
  transactions: EventTransactions;
  authorizer: Authorizer;
  clock: Clock;
  log: Logger;
  storage: Storage;
  publicAddress: string;
  sipPort: number;
  limits?: Partial<EventLimits>;
  /** The call registry: subscriptions are dialog usages there (in-dialog SUBSCRIBEs route through it). */
  registry?: SubscriptionDialogs;
  /** Extensions with a live registration now (presence open); swept every `sweepMs` (30 s). */
  registered?: () => Iterable<string>;
  /**
   * An extension's registered contacts, for unsolicited MWI (a phone that did not subscribe to its
   * mailbox gets message-summary NOTIFYs anyway); without it none are sent.
   */
  bindings?: (extension: string) => readonly Binding[];
  sweepMs?: number;
  /** Numbers besides extensions a phone may watch with the dialog package (park slots' BLF keys). */
  watchable?: (resource: string) => boolean;
}): EventsService {
  const { storage, publicAddress: domain } = options;
  const core = new EventCore({
    transactions: options.transactions,
    authorizer: options.authorizer,
    clock: options.clock,
    log: options.log,
    publicAddress: options.publicAddress,
    sipPort: options.sipPort,
    store: createSqliteSubscriptionStore(storage.db),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
  });
  const hub = new ExtensionStateHub({ domain });
  const mwi = new MessageSummaryState();
  const exists = (n: string) => storage.extensions.get(n) !== undefined;
  const watchable = (n: string) => exists(n) || (options.watchable?.(n) ?? false);
  core.register(dialogPackage({ source: hub, domain, exists: watchable }));
  core.register(presencePackage({ source: hub, domain, exists }));
  core.register(messageSummaryPackage({ state: mwi, domain, exists }));
  // Unsolicited MWI: to the mailbox's own phones that hold no message-summary subscription for it.
  const unsolicited = (mailbox: string) => {
    if (!options.bindings) return;
    const watched = core.subscriptions({ event: "message-summary", resource: mailbox })
      .some((s) => s.subscriber === mailbox);
    if (watched) return;
    const counts = mwi.get(mailbox);
    for (const b of options.bindings(mailbox)) {
      const { request, target } = unsolicitedMwiRequest(b, counts, {
        publicAddress: domain,
        sipPort: options.sipPort,
      });
      void core.sendUnsolicited(request, target).then((status) => {
        const line = { mailbox, contact: b.contactUri, status, waiting: counts.newMessages };
        if (status >= 200 && status < 300) options.log.debug("unsolicited MWI sent", line);
        else options.log.debug("unsolicited MWI not taken", line);
      }, (e) => options.log.debug("unsolicited MWI failed", { mailbox, error: e as Error }));
    }
  };
  const detach = [
    attachExtensionState(core, hub),
    attachMessageSummary(core, mwi),
    mwi.onChange((mailbox) => unsolicited(mailbox)),
  ];
  // Registrations expire without a REGISTER (no registrar callback): reconcile presence with the
  // location table at start and then periodically, so a phone that vanished shows closed.
  const online = new Set<string>();
  let sweepTimer: number | undefined;
  const sweep = () => {
    if (!options.registered) return;
    const now = new Set(options.registered());
    for (const ext of now) {
      if (online.has(ext)) continue;
      hub.setPresence(ext, { registered: true });
      if (mwi.get(ext).newMessages > 0) unsolicited(ext); // came online with messages waiting
    }
    for (const ext of online) {
      if (!now.has(ext)) hub.setPresence(ext, { registered: false });
    }
    online.clear();
    for (const ext of now) online.add(ext);
    sweepTimer = options.clock.setTimeout(sweep, options.sweepMs ?? 30_000);
  };
  sweep();
  return {
    core,
    hub,
    mwi,
    hook: (req, tx, source) => core.handleRequest(req, tx, source),
    close() {
      if (sweepTimer !== undefined) options.clock.clearTimeout(sweepTimer);
      for (const d of detach) d();
      core.close();
    },
  };
}

/**
 * The ua-profile package (SIP plug-and-play): a device-profile SUBSCRIBE gets 200 with Expires: 0
 * and one NOTIFY (terminated) whose application/url body is the provisioning URL; other profile
 * types get 489. The phone is recorded as discovered.
 */
export function uaProfilePackage(options: {
  httpBase: () => string;
  storage: Storage;
  clock: Clock;
  log: Logger;
  /** The provisioning fetch guard: a blocked source gets 403, an unknown MAC counts as a miss. */
  guard?: { refuse(address: string): boolean; miss(address: string, why: string): void };
  /** Told how many discovered devices the table cap or expiry removed. */
  onEvicted?: (count: number) => void;
}): EventPackage {
  return {
    name: "ua-profile",
    accept: ["application/url"],
    authenticate: false,
    oneShot: true,
    authorize(sub, req, source) {
      if (options.guard?.refuse(source.address)) {
        return { status: 403, reason: "Forbidden (too many failed provisioning requests)" };
      }
      const answer = answerPnpSubscribe({ uri: req.uri, headers: req.headers }, {
        httpBase: options.httpBase(),
      });
      if (answer === null) {
        // A ua-profile subscription for another profile type (user, local-network): not offered.
        return { status: 489, reason: "Bad Event", headers: [{ name: "Allow-Events", value: "ua-profile" }] };
      }
      sub.data.url = answer.url;
      recordPnpPhone(answer, req, source, options);
      return undefined;
    },
    render: (sub) => ({ contentType: "application/url", body: String(sub.data.url ?? "") }),
  };
}

function recordPnpPhone(
  answer: PnpAnswer,
  req: SipRequest,
  source: Peer,
  options: {
    storage: Storage;
    clock: Clock;
    log: Logger;
    guard?: { miss(address: string, why: string): void };
    onEvicted?: (count: number) => void;
  },
): void {
  if (answer.mac) {
    // An unknown MAC counts as a miss for this source, like a guessed file name.
    if (options.storage.devices.get(answer.mac) === undefined) {
      options.guard?.miss(source.address, "unknown MAC (PnP)");
    }
    try {
      const r = options.storage.devices.recordFetch({
        mac: answer.mac,
        at: options.clock.wallNow(),
        ip: source.address,
        userAgent: getHeader(req, "User-Agent") ?? null,
        file: "(pnp subscribe)",
        vendor: answer.vendor,
        model: answer.event.model,
      });
      if (r.evicted > 0) options.onEvicted?.(r.evicted);
    } catch (e) {
      options.log.warn("recording a PnP phone failed", { mac: answer.mac, error: e as Error });
    }
  }
  options.log.info("PnP SUBSCRIBE answered", {
    mac: answer.mac,
    vendor: answer.vendor,
    url: answer.url,
    source: source.address,
  });
}
