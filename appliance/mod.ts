/**
 * The composition root: reads the boot configuration, opens storage, starts SIP, the media plane,
 * the web server and TFTP, wires them together and handles signals. Only this folder knows the
 * concrete implementations.
 */
import { type BootConfig, loadConfig, usage } from "./config.ts";
import { createLogger, type Logger, stderrSink } from "../runtime/log/mod.ts";
import { type Clock, realClock } from "../runtime/clock/mod.ts";
import { applyStagedRestore, inspectDatabase, openStorage, type Storage } from "../runtime/storage/mod.ts";
import { createMailStore, createSecretBox } from "../runtime/storage/mod.ts";
import { MailService } from "../runtime/mail/mod.ts";
import { createResponse, getHeader, type SipRequest } from "../runtime/sip/message/mod.ts";
import { startTransports, TransactionLayer, type TransportLayer } from "../runtime/sip/mod.ts";
import { DigestAuthenticator } from "../runtime/sip/auth/mod.ts";
import { createAuthorizer, type RegistrarOptions, startExpiryTimer } from "../runtime/registrar/mod.ts";
import { sipSecurity } from "./_security.ts";
import {
  type ApplicationDeps,
  B2bua,
  CallRegistry,
  checkFeatures,
  createAdmission,
  createCalls,
  createDispatcher,
  type FeatureModule,
  type HoldHandler,
  LocalCalls,
  MethodRegistry,
  sendCheckSync,
  startLoadMonitor,
} from "../runtime/call/mod.ts";
import { MediaPlane } from "../runtime/media/relay/mod.ts";
import { createApp, type LiveChange } from "../web/mod.ts";
import { recordRegistration, startProvisioning } from "./_provisioning.ts";
import { defaultMelody, MohClasses, mohFeature } from "../runtime/features/moh/mod.ts";
import { voicemailFeature } from "../runtime/features/voicemail/mod.ts";
import { ivrFeature } from "../runtime/features/ivr/mod.ts";
import { callFeaturesFeature } from "../runtime/features/callfeatures/mod.ts";
import { ringGroupsFeature } from "../runtime/features/ringgroups/mod.ts";
import { trunksFeature } from "../runtime/features/trunks/mod.ts";
import { startTrunkClients, trunkInbound } from "./_trunks.ts";
import { parkFeature } from "../runtime/features/park/mod.ts";
import { conferenceFeature } from "../runtime/features/conference/mod.ts";
import { Recorder, recordingFeature } from "../runtime/features/recording/mod.ts";
import { queueFeature } from "../runtime/features/queue/mod.ts";
import { recognize, unavailableReason as sttUnavailable } from "../drivers/stt/mod.ts";
import { EMERGENCY_PREFIX, startPaging } from "./_paging.ts";
import { createRouter } from "./_dialplan.ts";
import { claimsOf, NumberPlan, sourcesFrom, storeLookup } from "../runtime/call/route/mod.ts";
import { startEvents, uaProfilePackage } from "./_events.ts";
import type { ExtensionDialog } from "../runtime/call/events/mod.ts";
import { listPcms } from "../drivers/alsa/mod.ts";
import { openInput } from "../drivers/gpio/mod.ts";
import { ResetButton } from "./_reset_button.ts";
import { readWav } from "../runtime/media/wav/mod.ts";
import { PromptLibrary } from "../runtime/media/prompts/mod.ts";
import { boxHostnames, caRoutes, ensureCertificate } from "./_tls.ts";
import { appVersion, Updater } from "./update/mod.ts";
import { commandRunner, helperRunner, HostControl, type NetworkConfig, type TimeConfig } from "./host/mod.ts";
import { installProcessGuard, prepareFdLimit } from "./_net_guard.ts";
import { serveWeb } from "./_web_listener.ts";
import { sipWebSocket } from "./_sip_ws.ts";
import { isSrtpPolicy, type SrtpPolicy } from "../runtime/sdp/crypto.ts";

/** An extension's SRTP policy from its options (absent or unknown: "offered", SDES only over TLS). */
function srtpPolicyOf(v: unknown): SrtpPolicy {
  return typeof v === "string" && isSrtpPolicy(v) ? v : "offered";
}

/** Numbers that are never shed under overload (emergency services). */
const EMERGENCY_NUMBERS = new Set(["911", "112", "999", "000"]);

/** A running appliance. */
export interface Appliance {
  config: BootConfig;
  storage: Storage;
  sipPort: number;
  /** The SIP over TLS port, or null when off (setting `off`, no certificate, port not free). */
  sipTlsPort: number | null;
  httpPort: number;
  /** The HTTPS port, or null when HTTPS is off (setting `off`, or no certificate could be made). */
  httpsPort: number | null;
  stop(): Promise<void>;
}

/** Start every service. Resolves once all listeners are up. */
export async function startAppliance(
  options: {
    args?: string[];
    env?: Record<string, string | undefined>;
    clock?: Clock;
    log?: Logger;
    /** Feature modules run after the built-in list (tests' own applications and routes). */
    features?: readonly FeatureModule[];
  } = {},
): Promise<Appliance> {
  const config = loadConfig({ args: options.args ?? [], env: options.env ?? Deno.env.toObject() });
  // The System page shows recent log lines: keep a ring of them besides writing to stderr.
  const ring: string[] = [];
  const log = options.log ?? createLogger("pbx", {
    level: config.logLevel,
    // Repeated lines (a flood of bad packets) are rate-limited so they cannot push the rest out of
    // the ring; SECURITY lines never are, and blocks also go to the audit log (docs/security.md).
    rateLimit: {},
    sink: (line, level) => {
      stderrSink(line, level);
      ring.push(line);
      if (ring.length > 1000) ring.splice(0, ring.length - 1000);
    },
  });
  const liveListeners = new Set<(change: LiveChange) => void>();
  const emit = (change: LiveChange) => {
    for (const l of liveListeners) {
      try {
        l(change);
      } catch (e) {
        log.error("live status listener failed", { error: e as Error });
      }
    }
  };
  const clock = options.clock ?? realClock;
  // No listener's error may end the process; the open-file limit goes up to the hard limit.
  const netLog = log.child("net");
  const fdStatus = prepareFdLimit(netLog);
  const listeners: Record<string, boolean> = { sip: false, rtp: false, tftp: false, http: false };
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log.error("shutdown step failed", { error: e as Error });
      }
    }
    cleanups.length = 0;
  };

  cleanups.push(installProcessGuard(netLog));
  try {
    // A backup staged through the web UI replaces the database now, before anything opens it.
    Deno.mkdirSync(config.dataDir, { recursive: true });
    const restored = applyStagedRestore(config.dataDir);
    if (restored.applied) {
      log.warn("restored the database from a staged backup", {
        schema: restored.schemaVersion,
        previous: restored.previousAt ?? "none",
        files: restored.files === null ? "none in the backup (folders kept)" : restored.files.files,
        foldersKeptAs: restored.files?.replaced.length ? `<folder>.before-restore-*` : "none",
      });
    } else if (restored.reason === "rejected") {
      log.error("staged backup refused; starting on the current data", {
        error: restored.error,
        kept: restored.keptAt,
      });
    }
    const storage = openStorage({ dataDir: config.dataDir, clock });
    if (restored.applied) {
      storage.audit.record({
        actor: "system",
        action: "system.restore-applied",
        detail: { schemaVersion: restored.schemaVersion, previous: restored.previousAt },
      });
      try {
        Deno.removeSync(`${config.dataDir}/restore/info.json`); // the web UI's note on the staged file
      } catch { /* none was written */ }
    }
    cleanups.push(() => storage.close());
    Deno.mkdirSync(`${config.dataDir}/sounds`, { recursive: true }); // bell and announcement WAVs
    // Firmware update: stages bundles into the inactive A/B slot; confirms a trial once healthy.
    const updater = new Updater({
      appRoot: config.appRoot,
      dataDir: config.dataDir,
      keysDir: config.updateKeysDir,
      version: appVersion(),
      confirmSec: config.updateConfirmSec,
      warmUp: true,
      clock,
      logger: log.child("update"),
    });
    cleanups.push(() => updater.close());

    // The box's OS: network/time settings, reboot, restart. Mode "none" (default) touches nothing.
    const hostControl = new HostControl({
      mode: config.hostMode,
      root: config.hostRoot,
      dataDir: config.dataDir,
      iface: config.hostIface === "" ? undefined : config.hostIface,
      confirmSec: config.networkConfirmSec,
      // Unprivileged box: privileged acts go through pbx-helper (appliance/box/pbx-helper).
      ...(config.hostHelper === "" ? {} : { run: helperRunner(config.hostHelper, commandRunner()) }),
      clock,
      log: log.child("host"),
      onRevert: (restored, rejected) => {
        // The stored settings follow the OS back, so the System page shows what is in effect and
        // the next start does not apply the rejected settings again.
        if (restored !== null) storage.settings.set("system.network", restored);
        else storage.settings.delete("system.network");
        storage.audit.record({
          actor: "system",
          action: "settings.network-revert",
          detail: { restored, rejected },
        });
      },
    });
    cleanups.push(() => hostControl.stop());
    // After a restore (or an image update) the stored settings may differ from the OS files.
    await hostControl.start({
      network: storage.settings.get<NetworkConfig>("system.network"),
      time: storage.settings.get<TimeConfig>("system.time"),
    });
    // The factory-reset button (a GPIO input), held for factoryResetHoldSec: the same reset as the
    // System page's. A line that cannot be had is logged; the box starts anyway.
    if (config.factoryResetButton !== "") {
      const buttonLog = log.child("button");
      try {
        const button = new ResetButton({
          line: openInput(config.factoryResetButton, { consumer: "pbx-factory-reset" }),
          holdMs: config.factoryResetHoldSec * 1000,
          clock,
          logger: buttonLog,
          onReset: () => {
            const { at } = hostControl.factoryReset();
            storage.audit.record({ actor: "button", action: "system.factory-reset", detail: { at } });
          },
        });
        cleanups.push(() => button.stop());
      } catch (e) {
        buttonLog.error("factory reset button not available", {
          line: config.factoryResetButton,
          error: (e as Error).message,
        });
      }
    }
    await ensureAdmin(storage, config, log);

    const media = await MediaPlane.start({
      bind: config.bind,
      portMin: config.rtpPortMin,
      portMax: config.rtpPortMax,
      publicAddress: config.publicAddress,
      rtpTimeoutMs: config.rtpTimeoutSec * 1000,
    });
    cleanups.push(() => media.close());
    listeners.rtp = true;
    const mediaLog = log.child("media");
    media.on((ev) => {
      // A leg whose SRTP does not authenticate (wrong key, forged or plain packets): dropped.
      if (ev.event === "dtls") {
        if (ev.error !== undefined) mediaLog.warn("DTLS-SRTP failed", { leg: ev.legId, error: ev.error });
        else mediaLog.info("DTLS-SRTP on", { leg: ev.legId, suite: ev.suite });
      }
      if (ev.event === "srtpError") {
        mediaLog.warn("SRTP packets dropped", {
          leg: ev.legId,
          status: ev.status,
          rtcp: ev.rtcp,
          dropped: ev.dropped,
        });
      }
    });

    // Call records go through the group commit: one fsync for every call that ended in the same
    // few milliseconds, off the per-call path.
    const cdrSink = {
      insert: (r: Parameters<typeof storage.cdr.insert>[0]) =>
        void storage.cdr.insertDurable(r).catch((e) =>
          log.error("writing a call record failed", { call: r.callId, error: e as Error })
        ),
    };
    const authenticator = new DigestAuthenticator({
      realm: config.realm,
      clock,
      algorithms: config.digestAlgorithms,
    });
    const security = sipSecurity({ config, storage, clock, log: log.child("auth") });
    const authorizer = createAuthorizer({
      authenticator,
      ...security.authorizerOptions,
      log: log.child("auth"),
      directory: {
        ha1: (user, realm, alg) => realm === config.realm ? storage.extensions.ha1(user, alg) : undefined,
      },
    });

    // The transaction layer and the transports refer to each other; the holder breaks the cycle.
    // deno-lint-ignore prefer-const -- assigned below; closures created first refer to it
    let transports: TransportLayer | undefined;
    // deno-lint-ignore prefer-const -- assigned below; closures created first refer to it
    let prov: Awaited<ReturnType<typeof startProvisioning>> | undefined;
    let httpPort = config.httpPort;
    // The web UI address for links in mails (the listeners set it once they are up).
    // deno-lint-ignore prefer-const -- assigned below; closures created first refer to it
    let webUrl: string | undefined;
    // deno-lint-ignore prefer-const -- assigned below; closures created first refer to it
    let b2bua: B2bua | undefined;
    const callStates = new Map<string, string>();
    let callsSettingUp = 0;
    const sipLog = log.child("sip");
    const transactions: TransactionLayer = new TransactionLayer({
      transport: {
        sendResponse: (res) => transports!.sendResponse(res),
        sendRequest: (req, target) => transports!.sendRequest(req, target),
      },
      clock,
      // Every SUBSCRIBE (SIP plug-and-play ua-profile included) goes to the events core (dispatcher hook).
      onRequest: (req, tx, source) => dispatch(req, tx, source),
      onStrayResponse: (res) => b2bua?.handleStrayResponse(res),
    });
    // One owner of every dialog (calls, local calls, subscriptions).
    const callRegistry = new CallRegistry({ clock });
    // SUBSCRIBE/NOTIFY (runtime/call/events): dialog, presence, message-summary, ua-profile.
    let isParkSlot: (n: string) => boolean = () => false;
    const events = startEvents({
      registry: callRegistry,
      transactions,
      authorizer,
      clock,
      log: log.child("events"),
      storage,
      publicAddress: config.publicAddress,
      sipPort: config.sipPort,
      limits: {
        minExpires: config.subscribeMinExpires,
        maxExpires: Math.max(config.subscribeMinExpires, config.subscribeMaxExpires),
        perSource: config.subscribePerSource,
        total: config.subscribeMax,
      },
      registered: () => new Set(storage.locations.listAll(clock.wallNow()).map((b) => b.extension)),
      bindings: (ext) => storage.locations.getBindings(ext, clock.wallNow()),
      // Park slots' BLF keys (set once the park feature exists, below).
      watchable: (n) => isParkSlot(n),
    });
    cleanups.push(() => events.close());
    // deno-lint-ignore prefer-const -- assigned below from the feature list; the B2BUA refers to it first
    let holdHandler: HoldHandler | undefined;
    // Call recording (runtime/features/recording): started on bridged calls, after storage is migrated.
    // deno-lint-ignore prefer-const -- assigned below, once storage is migrated; the B2BUA refers to it first
    let recorder: Recorder | undefined;
    const methods = new MethodRegistry();
    methods.allowInDialog("REFER"); // blind transfer within a call (B2BUA)
    b2bua = new B2bua({
      registry: callRegistry,
      allow: () => methods.allow(),
      // The hold handler comes from the feature list below (music on hold).
      hold: {
        held: (p) => holdHandler?.held(p),
        resumed: (p) => holdHandler?.resumed(p),
      },
      transactions,
      sendRaw: (req, target) => void transports!.sendRequest(req, target),
      media,
      cdr: cdrSink,
      clock,
      log: log.child("call"),
      publicAddress: config.publicAddress,
      sipPort: config.sipPort,
      bindings: (ext) => storage.locations.getBindings(ext, clock.wallNow()),
      exists: (n) => storage.extensions.get(n) !== undefined,
      // A blind transfer to a number the box answers itself (IVR, voicemail, park) hands the party to it.
      applicationFor: (n) => {
        const target = route(n);
        if (target.kind !== "local") return undefined;
        return (party) => local.adopt({ ...party, handler: target.handler });
      },
      displayName: (ext) => storage.extensions.get(ext)?.name,
      // SDES SRTP per extension (options.srtp); keys only ever travel over TLS/WSS signalling.
      srtpPolicy: (ext) => srtpPolicyOf(storage.extensions.get(ext)?.options.srtp),
      // SRTP keyed by DTLS toward phones that take no SDES (options.srtpKeying "dtls").
      srtpKeying: (ext) => storage.extensions.get(ext)?.options.srtpKeying === "dtls" ? "dtls" : "sdes",
      noAnswerMs: config.noAnswerSeconds * 1000,
      ...(config.sessionExpiresSec > 0
        ? { sessionTimers: { expiresSec: config.sessionExpiresSec, minSeSec: config.sessionMinSeSec } }
        : {}),
      onBridged: (call) => recorder?.onBridged(call),
      onChange: (call, ended) => {
        if (ended) recorder?.callEnded(call.id);
        // Calls in set-up (not answered yet), for overload admission.
        const was = callStates.get(call.id);
        const now = ended ? undefined : call.state;
        if (was !== undefined && was !== "answered") callsSettingUp--;
        if (now !== undefined && now !== "answered") callsSettingUp++;
        if (now === undefined) callStates.delete(call.id);
        else callStates.set(call.id, now);
        emit("calls");
        events.hub.fromLiveCall(call, ended); // BLF (dialog) and presence watchers
      },
    });
    cleanups.push(() => b2bua!.close());
    const registrar: RegistrarOptions = {
      locations: {
        getBindings: (ext, now) => storage.locations.getBindings(ext, now),
        // The 200 OK waits for a group commit, so many REGISTERs share one fsync.
        upsert: (b) => storage.locations.upsertDurable(b),
        remove: async (ext, uri) => void await storage.locations.removeDurable(ext, uri),
        removeAll: (ext) => void storage.locations.removeAll(ext),
        purgeExpired: (now) => storage.locations.purgeExpired(now),
        listAll: (now) => storage.locations.listAll(now),
      },
      extensionExists: (n) => storage.extensions.get(n) !== undefined,
      clock,
      log: log.child("registrar"),
      onChange: (ext) => {
        emit("registrations");
        events.hub.setPresence(ext, {
          registered: storage.locations.getBindings(ext, clock.wallNow()).length > 0,
        });
        // E911: a phone registering from another network is flagged as moved.
        const first = storage.locations.getBindings(ext, clock.wallNow())[0];
        if (first !== undefined) trunks.service.registered(ext, first.sourceAddress);
        // The device registry shows each phone's last registration (User-Agent, contact).
        for (const b of storage.locations.getBindings(ext, clock.wallNow())) {
          recordRegistration(storage, {
            userAgent: b.userAgent ?? null,
            contact: b.contactUri,
            extension: ext,
            at: clock.wallNow(),
          });
        }
      },
    };
    // Legs applications send out of trunks (leg.dial, calls.originate): counted with the B2BUA's trunk calls.
    const appTrunkLegs = new Map<symbol, { trunk: string; caller: string }>();
    const trunkLegStarted = (trunk: string, caller: string) => {
      const key = Symbol(trunk);
      appTrunkLegs.set(key, { trunk, caller });
      emit("calls");
      return () => {
        appTrunkLegs.delete(key);
        emit("calls");
      };
    };
    const local = new LocalCalls({
      registry: callRegistry,
      // SRTP for calls the box answers (voicemail, IVR, conferences, queues, park), as for B2BUA legs.
      srtpPolicy: (ext) => srtpPolicyOf(storage.extensions.get(ext)?.options.srtp),
      srtpKeying: (ext) => storage.extensions.get(ext)?.options.srtpKeying === "dtls" ? "dtls" : "sdes",
      transactions,
      media,
      cdr: cdrSink,
      clock,
      log: log.child("feature"),
      publicAddress: config.publicAddress,
      sipPort: config.sipPort,
      // Onward routing from an application's caller (leg.dial, continueTo, REFER): the dialplan below.
      onward: {
        route: (n) => route(n),
        bindings: (n) => storage.locations.getBindings(n, clock.wallNow()),
        // In a call: a phone-to-phone call or one the box answers (voicemail, IVR, conference, queue).
        busy: (n: string): boolean => b2bua!.busyExtensions().has(n) || local.busyExtensions().has(n),
        sendRaw: (req, target) => void transports!.sendRequest(req, target),
        media,
        noAnswerMs: config.noAnswerSeconds * 1000,
        allow: () => methods.allow(),
        trunkLegStarted,
      },
    });
    cleanups.push(() => local.close());
    const paging = startPaging({ storage, clock, log: log.child("paging") });
    cleanups.push(() => paging.close());
    cleanups.push(paging.service.onChange(() => emit("zones"))); // live zone state on the dashboard
    // Outside lines (runtime/features/trunks): trunks, DIDs, outbound routes, E911.
    const trunks = trunksFeature({
      db: storage.db,
      secrets: createSecretBox(config.dataDir),
      settings: storage.settings,
      clock,
      log: log.child("trunks"),
      activeCalls: (id) =>
        b2bua!.calls().filter((c) => c.trunk === id).length +
        [...appTrunkLegs.values()].filter((l) => l.trunk === id).length,
      isExtension: (n) => storage.extensions.get(n) !== undefined,
      displayName: (n) => storage.extensions.get(n)?.name,
      boxAddress: config.publicAddress,
      device: (ext) => {
        const [d] = storage.devices.byExtension(ext);
        return d === undefined ? undefined : { mac: d.mac };
      },
      currentAddress: (ext) => storage.locations.getBindings(ext, clock.wallNow())[0]?.sourceAddress,
      numberExists: (n) => numberExists(n),
      outsideCallers: () => [
        ...b2bua!.calls().filter((c) => c.trunk !== undefined).map((c) => c.caller),
        ...[...appTrunkLegs.values()].map((l) => l.caller),
      ],
      onFraud: (a) => {
        storage.audit.record({
          actor: "system",
          action: "fraud.block",
          detail: { caller: a.caller, reason: a.reason },
        });
        if (a.email.length > 0) {
          try {
            mail.enqueue({
              to: a.email,
              subject: `Fraud guard: ${a.reason}`,
              text: `${a.reason}\nThe call was refused.\n`,
            });
          } catch (err) {
            log.error("fraud alert email not queued", { error: err as Error });
          }
        }
      },
      announcementsDir: `${config.dataDir}/prompts/e911`, // uploaded location recordings (in backups)
      // What the front desk hears when it answers an emergency call's notification (docs/trunks.md).
      frontDesk: {
        speak: (text) => prompts.say(text).then((a) => ({ samples: a.rate16, sampleRate: 16000 })),
        prompt: (id) => prompts.get(id).then((a) => ({ samples: a.rate16, sampleRate: 16000 })),
        onOutcome: (o) =>
          storage.audit.record({ actor: "system", action: "e911.frontdesk", detail: { ...o } }),
      },
      onEmergency: (call) => {
        const what = `${call.test ? "TEST " : ""}Emergency call ${call.number} from extension ${call.caller}`;
        storage.audit.record({ actor: "system", action: "e911.call", detail: { ...call } });
        const e = trunks.service.e911();
        // The zone hears it at emergency priority, the location spoken (text-to-speech).
        const zone = e.pageZone;
        if (zone !== undefined) {
          void prompts.say(`${what}. ${call.location}.`).then((a) =>
            paging.service.playWav(zone, {
              format: "pcm16",
              sampleRate: 16000,
              channels: 1,
              samples: a.rate16,
            }, {
              priority: "emergency",
              origin: { label: "e911" },
              preTone: true,
            })
          ).catch((err) => log.error("emergency page failed", { zone, error: err as Error }));
        }
        if (e.email.length > 0) {
          try {
            mail.enqueue({
              to: e.email,
              subject: what,
              text: `${what}\nCallback number: ${call.callback}\nLocation: ${call.location}\n`,
            });
          } catch (err) {
            log.error("emergency email not queued", { error: err as Error });
          }
        }
      },
    });
    // Prompts: text-to-speech cached in DATA_DIR/cache/prompts, uploaded recordings in DATA_DIR/prompts.
    const prompts = new PromptLibrary(config.dataDir);
    // The number plan with the feature modules' claims (forward targets, time-condition destinations).
    const featurePlan = storeLookup(storage, {
      extraClaims: () => features.flatMap((f) => f.numbers?.() ?? []),
    });
    // Forwarding, DND and time conditions (after voicemail: DND takes voicemail's busy route).
    const callFeatures = callFeaturesFeature({
      db: storage.db,
      clock,
      log: log.child("callfeatures"),
      exists: (n) => storage.extensions.get(n) !== undefined,
      extensions: () => sourcesFrom(storage).extensions.map((e) => e.number),
      lookup: (n) => featurePlan.lookup(n),
      collision: (claim) =>
        NumberPlan.from(claimsOf(sourcesFrom(storage, features.flatMap((f) => f.numbers?.() ?? []))))
          .check(claim)?.message,
      onDnd: (ext, dnd) => events.hub.setPresence(ext, { dnd }),
      onChange: () => emit("calls"),
      timeZone: () => storage.settings.get<{ timezone?: string }>("system.time")?.timezone || undefined,
      // Intercom: a phone in a call is never auto-answered; the header follows the provisioned vendor.
      // Local calls count: a phone in voicemail, an IVR, a conference or a queue is in a call too.
      inCall: (ext) => b2bua!.busyExtensions().has(ext) || local.busyExtensions().has(ext),
      vendorOf: (ext) => storage.devices.byExtension(ext)[0]?.vendor,
      extensionState: (ext) => ({
        ...events.hub.presence(ext),
        registered: storage.locations.getBindings(ext, clock.wallNow()).length > 0,
        dialogs: events.hub.dialogs(ext),
      }),
      boxUri: `sip:${
        config.publicAddress.includes(":") ? `[${config.publicAddress}]` : config.publicAddress
      }`,
    });
    // Presence is in memory: phones watching an extension on DND see it again after a restart.
    for (const f of callFeatures.store.list()) if (f.dnd) events.hub.setPresence(f.extension, { dnd: true });
    // Who holds a number besides feature `except` (rooms and queues refuse taken numbers).
    const numberHolder = (n: string, except: string): string | undefined => {
      if (storage.extensions.get(n) !== undefined) return `extension ${n}`;
      const claim = features.filter((f) => f.name !== except).flatMap((f) => f.numbers?.() ?? [])
        .find((c) => c.pattern === n);
      return claim === undefined ? undefined : (claim.owner.label ?? `${claim.owner.kind} ${claim.owner.id}`);
    };
    const mohClasses = new MohClasses(`${config.dataDir}/moh`, storage.settings);
    // *85 parks too; a transfer to a free slot parks there; a lot setting pages the slot on a zone.
    const park = parkFeature({
      prompts,
      clock,
      log: log.child("park"),
      timeoutMs: config.parkSeconds * 1000,
      settings: storage.settings,
      lookup: (n) => featurePlan.lookup(n),
      numberInUse: (n) => numberHolder(n, "park"),
      // Park and page: the paging application, by name, hears the announcement.
      runApplication: async (name, leg, args) => {
        const app = features.flatMap((f) => f.applications ?? []).find((a) => a.name === name);
        if (app === undefined) throw new Error(`no application ${name}`);
        await app.run(leg, args);
      },
    });
    // BLF on park slots: a parked call is a confirmed dialog of its slot (dialog package, RFC 4235).
    isParkSlot = (n) => park.isSlot(n);
    const litSlots = new Map<string, ExtensionDialog & { since: number }>();
    cleanups.push(park.onChange(() => {
      const now = new Map(park.calls().map((c) => [c.slot, c]));
      for (const [slot, d] of litSlots) {
        if (now.get(slot)?.since === d.since) continue;
        const { since: _, ...dialog } = d;
        events.hub.updateDialog(slot, { ...dialog, state: "terminated" });
        litSlots.delete(slot);
      }
      for (const [slot, c] of now) {
        if (litSlots.has(slot)) continue;
        const d = {
          since: c.since,
          id: `park-${slot}-${c.since}`,
          callId: `park-${slot}-${c.since}`,
          direction: "recipient" as const,
          state: "confirmed" as const,
          remote: { identity: `sip:${c.caller}@${config.publicAddress}` },
          local: { identity: `sip:${slot}@${config.publicAddress}` },
        };
        litSlots.set(slot, d);
        const { since: _, ...dialog } = d;
        events.hub.updateDialog(slot, dialog);
      }
    }));
    // Every feature module the box runs, registered in one place (runtime/call/feature.ts).
    const features: FeatureModule[] = [
      paging.feature,
      mohFeature({
        media: {
          playPcm: (leg, samples) => media.playPcm(leg, samples),
          stopPlay: (leg) => media.stopPlay(leg),
          // The media worker loops the class itself, encoded in the leg's own codec (narrow- or wideband).
          playLoop: (leg, a) => media.playPcm(leg, a.samples, { sampleRate: a.sampleRate, loop: true }),
          playFile: (leg, path) => media.playFile(leg, path, { loop: true }),
        },
        log: log.child("moh"),
        // Uploaded classes (WAV of any rate) in DATA_DIR/moh; the selection is a setting.
        classes: mohClasses,
      }),
      // Voicemail: mailboxes, deposit/retrieval applications, *97/*98/*99NNN, /api/voicemail.
      voicemailFeature({
        settings: storage.settings, // the operator number (0 during a greeting)
        webUrl: () => webUrl, // the link in new-message mails (set once the web listeners are up)
        db: storage.db,
        dataDir: config.dataDir,
        clock,
        exists: (n) => storage.extensions.get(n) !== undefined,
        prompts,
        mwi: (m, counts) => void events.mwi.set(m, counts),
        mail: { enqueue: (m) => mail.enqueue(m) }, // the outbox is created just below
        log: log.child("voicemail"),
        // Transcripts of wideband messages where pocketsphinx is installed (drivers/stt).
        transcribe: async (samples) =>
          (await sttUnavailable()) === null ? await recognize(samples) : undefined,
      }),
      // Auto attendant menus (/api/ivr/menus); a choice may run another feature's application on the call.
      ivrFeature({
        db: storage.db,
        prompts,
        log: log.child("ivr"),
        greetingsDir: `${config.dataDir}/prompts/ivr`, // uploaded menu greetings (in backups)
        // Dial by name: every extension with a name.
        directory: () =>
          sourcesFrom(storage).extensions.map((e) => ({ number: e.number, name: e.name ?? "" })),
        runApplication: async (name, leg, args) => {
          const app = features.flatMap((f) => f.applications ?? []).find((a) => a.name === name);
          if (app === undefined) throw new Error(`no application ${name}`);
          await app.run(leg, args);
        },
      }),
      callFeatures,
      // Ring groups (/ringgroups); members on DND are left out of the ringing.
      ringGroupsFeature({
        db: storage.db,
        clock,
        log: log.child("ringgroups"),
        exists: (n) => storage.extensions.get(n) !== undefined,
        lookup: (n) => featurePlan.lookup(n),
        collision: (claim) =>
          NumberPlan.from(claimsOf(sourcesFrom(storage, features.flatMap((f) => f.numbers?.() ?? []))))
            .check(claim)?.message,
        skip: (m) => callFeatures.store.get(m).dnd,
      }),
      trunks.feature,
      // Call park: 700 parks (by blind transfer or dialling it), 701-708 retrieve, recall after PBX_PARK_SECONDS.
      park,
      // Conference rooms (/api/conference, /conference): mixing in the media worker's mix rooms.
      conferenceFeature({
        db: storage.db,
        prompts,
        log: log.child("conference"),
        numberInUse: (n) => numberHolder(n, "conference"),
      }),
      // Call queues (/api/queues, /queues wallboard); agents are rung with the calls API (docs/queues.md).
      queueFeature({
        db: storage.db,
        clock,
        log: log.child("queue"),
        prompts,
        holdMusic: async (leg) => {
          const file = mohClasses.selectedFile();
          if (file !== undefined) await leg.play({ file });
          else await leg.play({ pcm: defaultMelody(16000), sampleRate: 16000 });
        },
        runApplication: async (name, leg, args) => {
          const app = features.flatMap((f) => f.applications ?? []).find((a) => a.name === name);
          if (app === undefined) throw new Error(`no application ${name}`);
          await app.run(leg, args);
        },
        isBusy: (ext) =>
          b2bua!.calls().some((c) => c.caller === ext || c.callee === ext) || local.busyExtensions().has(ext),
        isDnd: (ext) => callFeatures.store.get(ext).dnd,
        numberInUse: (n) => numberHolder(n, "queue"),
        // Queue calls are recorded like B2BUA calls (the policy's extensions, or the queue's `record`).
        onBridged: (call) => recorder?.onBridged(call),
        onCallEnded: (id) => recorder?.callEnded(id),
      }),
      // Call recording: /api/recordings, the Recordings page (the recorder is started below).
      recordingFeature({ recorder: () => recorder }),
      // Extra features a test entry adds (tests/sip/_route_entry.ts).
      ...(options.features ?? []),
    ];
    checkFeatures(features);
    recorder = new Recorder({
      db: storage.db,
      dataDir: config.dataDir,
      clock,
      log: log.child("recording"),
      media,
    });
    cleanups.push(() => recorder?.close());
    for (const f of features) for (const p of f.eventPackages ?? []) methods.registerEventPackage(p);
    holdHandler = features.find((f) => f.hold !== undefined)?.hold;
    // Outgoing email (runtime/mail): the durable outbox voicemail, E911 and fraud alerts enqueue on.
    const mail = new MailService(createMailStore(storage.db, { clock, dataDir: config.dataDir }), {
      clock,
      logger: log.child("mail"),
      outboxDir: `${config.dataDir}/mail-outbox`,
    });
    mail.start(); // messages queued before a restart go out now
    cleanups.push(() => mail.stop());
    // What feature applications drive a leg with: the media worker's players and recorder.
    const talkListeners = new Map<string, (talking: boolean) => void>();
    const applicationDeps: ApplicationDeps = {
      media: {
        playTone: (leg, spec, o) => media.playTone(leg, spec, o),
        playPcm: (leg, samples, o) =>
          media.playPcm(leg, samples, o?.sampleRate ? { sampleRate: o.sampleRate } : {}),
        stopPlay: (leg) => media.stopPlay(leg),
        playFile: (leg, path, o) => media.playFile(leg, path, { loop: o.loop }),
        record: (leg, path, o) => media.record(leg, path, o.stereo ? { stereo: true } : {}),
        stopRecord: (leg) => media.stopRecord(leg),
        // Conference rooms: a leg's audio stays in the worker while it is in a mix (no tap).
        joinMix: async (leg, room, o) => {
          if (o.onTalking) talkListeners.set(leg, o.onTalking);
          await media.tap(leg, false);
          await media.addToMix(room, leg, { sampleRate: o.sampleRate, endWhenEmpty: true, talkEvents: true });
        },
        leaveMix: async (leg, room) => {
          talkListeners.delete(leg);
          await media.removeFromMix(room, leg).catch(() => false); // the leg may be released already
          await media.tap(leg, true).catch(() => {});
        },
        muteInMix: (leg, room, muted) => media.muteInMix(room, leg, muted),
        hearInMix: (leg, room, hears) => media.hearInMix(room, leg, hears),
      },
      clock,
      log: log.child("app"),
    };
    cleanups.push(media.on((ev) => {
      if (ev.event === "talking") talkListeners.get(ev.legId)?.(ev.talking);
    }));
    const route = createRouter({
      storage,
      paging: (n) => paging.route(n),
      log: sipLog,
      features,
      applicationDeps,
      trunks: trunks.service,
    }); // runtime/call/route
    // The DIDs trunks deliver: the inbound scope of the same plan.
    const routeInbound = createRouter({
      storage,
      paging: (n) => paging.route(n),
      log: sipLog,
      features,
      applicationDeps,
      trunks: trunks.service,
      scope: "inbound",
    });
    const numberExists = (n: string) => route(n).kind !== "none";
    // The call-control API features get (runtime/call/calls.ts): originate, bridge, replace.
    const calls = createCalls({
      transactions,
      sendRaw: (req, target) => void transports!.sendRequest(req, target),
      media,
      registry: callRegistry,
      cdr: cdrSink,
      clock,
      log: log.child("calls"),
      // Legs the box rings (queues, originate) get SRTP by the callee's policy, as B2BUA callees.
      srtpPolicy: (ext) => srtpPolicyOf(storage.extensions.get(ext)?.options.srtp),
      srtpKeying: (ext) => storage.extensions.get(ext)?.options.srtpKeying === "dtls" ? "dtls" : "sdes",
      publicAddress: config.publicAddress,
      sipPort: config.sipPort,
      noAnswerMs: config.noAnswerSeconds * 1000,
      allow: () => methods.allow(),
      route: (n) => route(n),
      bindings: (n) => storage.locations.getBindings(n, clock.wallNow()),
      players: applicationDeps.media,
      // The parties of phone-to-phone calls as legs (calls.legsOf: conference merge).
      b2bua,
      adopt: (party) => local.adopt(party),
      trunkLegStarted,
    });
    for (const f of features) f.useCalls?.(calls);
    const stopExpiry = startExpiryTimer({ locations: registrar.locations, clock });
    cleanups.push(stopExpiry);
    const load = startLoadMonitor();
    cleanups.push(() => load.stop());
    // New calls are shed (503 + Retry-After) while the loop lags or too many are in set-up, the
    // flooding source first; emergency numbers and emergency pages never (runtime/call/load_monitor.ts).
    const admission = createAdmission({
      lagging: () => load.overloaded(),
      settingUp: () => callsSettingUp,
      maxSettingUp: config.maxCallsSettingUp,
      // The last tenth of the RTP ports (at least 16) is kept for the per-source shares.
      mediaLow: () => media.freePorts() < Math.max(16, (config.rtpPortMax - config.rtpPortMin + 1) / 10),
      perSourceShare: config.overloadSourceShare,
    });
    const isEmergency = (req: SipRequest): boolean => {
      const user = /^sips?:([^@;>]+)@/i.exec(req.uri)?.[1] ?? "";
      if (EMERGENCY_NUMBERS.has(user)) return true;
      if (!user.startsWith(EMERGENCY_PREFIX)) return false;
      const n = user.slice(EMERGENCY_PREFIX.length);
      return storage.paging.getZone(n) !== undefined || storage.paging.getGroup(n) !== undefined;
    };
    let lastShedLog = -Infinity;
    const dispatch = createDispatcher({
      authorizer,
      registrar,
      b2bua,
      local,
      registry: callRegistry,
      methods,
      route,
      hasBindings: (n) => storage.locations.getBindings(n, clock.wallNow()).length > 0,
      bindings: (n) => storage.locations.getBindings(n, clock.wallNow()),
      findInviteForCancel: (c) => transactions.findInviteForCancel(c),
      overloaded: (req, source) => {
        if (req === undefined || source === undefined) return false;
        // An INVITE without credentials only gets a challenge: checked, not counted in the share.
        const challenge = getHeader(req, "Authorization") === undefined &&
          getHeader(req, "Proxy-Authorization") === undefined;
        if (!admission.shed(source.address, challenge)) return false;
        if (isEmergency(req)) return false;
        if (clock.now() - lastShedLog > 10_000) {
          lastShedLog = clock.now();
          sipLog.warn("overloaded: shedding new calls with 503", {
            why: admission.state(),
            lagMs: Math.round(load.lagMs()),
            settingUp: callsSettingUp,
          });
        }
        return true;
      },
      trunkInbound: trunkInbound(trunks.service, trunks.stir, log.child("stir")),
      routeInbound,
      isEmergency: (n) => trunks.service.isEmergency(n),
      clock,
      log: sipLog,
      hooks: [events.hook],
    });
    // SIP TCP may use at most half of the open-file limit, so the rest of the box keeps working.
    const fdLimit = fdStatus().limit;
    const sipTcpMax = fdLimit === null
      ? config.sipTcpMaxConnections
      : Math.max(16, Math.min(config.sipTcpMaxConnections, Math.floor(fdLimit / 2)));
    netLog.info("SIP TCP connection limits", {
      total: sipTcpMax,
      perSource: config.sipTcpMaxPerSource,
      idleSec: config.sipTcpIdleSec,
      messageSec: config.sipTcpMessageSec,
    });
    // The box's certificate (made on first start) serves HTTPS and SIP over TLS alike.
    const tls = config.httpsPort === null && config.sipTlsPort === null ? null : await ensureCertificate({
      dataDir: config.dataDir,
      hostnames: boxHostnames(config),
      log: log.child("tls"),
    });
    // DTLS-SRTP (WebRTC, dtls_srtp phones) presents the box's certificate, else a self-signed one.
    await media.setDtlsIdentity(tls === null ? null : { certPem: tls.certPem, keyPem: tls.keyPem }).catch((
      e,
    ) => log.child("media").warn("DTLS-SRTP is off: no certificate could be loaded", { error: e as Error }));
    if (config.sipTlsPort !== null && tls === null) {
      sipLog.warn("SIP over TLS is off: the box has no certificate");
    }
    transports = await startTransports({
      ...(tls !== null && config.sipTlsPort !== null
        ? { tls: { port: config.sipTlsPort, cert: tls.certPem, key: tls.keyPem, caCerts: [tls.caPem] } }
        : {}),
      bind: config.bind,
      port: config.sipPort,
      // The plug-and-play multicast listener binds the SIP port too.
      reuseAddr: config.pnp,
      nativeUdp: config.sipUdpNative, // falls back to node:dgram (logged) with PnP or without FFI
      udpReceiveBuffer: config.sipUdpRcvbufKb * 1024,
      logger: sipLog.child("transport"),
      maxConnections: sipTcpMax,
      maxConnectionsPerSource: config.sipTcpMaxPerSource,
      idleTimeoutMs: config.sipTcpIdleSec * 1000,
      messageTimeoutMs: config.sipTcpMessageSec * 1000,
      onMessage: (msg, source) => transactions.receive(msg, source),
      // A phone's TCP/TLS flow died: its calls end (record reason connection-lost).
      onConnectionLost: (peer) => {
        const ended = (b2bua?.connectionLost(peer) ?? 0) + local.connectionLost(peer);
        if (ended > 0) {
          sipLog.warn("SIP connection lost: calls ended", {
            peer: `${peer.transport}:${peer.address}:${peer.port}`,
            calls: ended,
          });
        }
      },
      onError: ({ source, error, partial }) => {
        sipLog.warn("unparsable SIP message", {
          source: `${source.transport}:${source.address}:${source.port}`,
          error,
        });
        if (partial && partial.type === "request" && partial.method !== "ACK") {
          try {
            const res = createResponse(partial, 400, {
              reason: `Bad Request (${error.message})`.slice(0, 120),
            });
            void transports!.sendResponse(res);
          } catch {
            // not enough of the message to answer: dropping it is all RFC 3261 allows
          }
        }
      },
    });
    cleanups.push(() => transports!.close());
    cleanups.push(() => transactions.close());
    listeners.sip = true;
    // Trunk registrations and keepalives (before the transports close: they unregister).
    cleanups.push(startTrunkClients({
      service: trunks.service,
      transactions,
      clock,
      log: log.child("trunks"),
      publicAddress: config.publicAddress,
      sipPort: () => transports!.port,
    }));

    prov = await startProvisioning({
      config,
      storage,
      log: log.child("prov"),
      clock,
      receiveSip: (m, src) => transactions.receive(m, src),
      sipPort: () => transports!.port,
      httpPort: () => httpPort,
      // Phones set to TLS (options.sipTransport) get the SIP-TLS port and the box's CA.
      sipTlsPort: () => transports!.tlsPort,
      caCertPem: () => tls?.caPem,
      pnpMulticast: config.pnp,
      // Park keys (the park lot's phoneKeys setting) after each phone's own keys.
      extraKeys: () => park.phoneKeys(),
    });
    const provisioning = prov;
    cleanups.push(() => provisioning.stop());
    events.core.register(uaProfilePackage({
      httpBase: () => provisioning.data.server().httpBase,
      storage,
      clock,
      log: log.child("pnp"),
      guard: provisioning.guard,
    }));
    events.core.restore(); // subscriptions from before a restart continue
    // The events core answers SUBSCRIBE (dispatcher hook); Allow and Allow-Events come from the method
    // registry, so announce SUBSCRIBE and every package the core serves there too.
    methods.allowInDialog("SUBSCRIBE");
    for (const p of events.core.allowEvents()) {
      if (!methods.hasEventPackage(p)) methods.registerEventPackage(p);
    }
    listeners.tftp = true;

    const app = createApp({
      storage,
      features, // their numbers, routes and OpenAPI entries
      live: {
        calls: () => b2bua!.calls(),
        onChange: (listener) => {
          liveListeners.add(listener);
          return () => liveListeners.delete(listener);
        },
      },
      paging: paging.service,
      mail, // /api/mail: SMTP settings, test email, outbox
      // message-summary (MWI) counts from the REST API; voicemail will use the same setter.
      mailboxes: {
        get: (m) => events.mwi.get(m),
        set: (m, counts) => events.mwi.set(m, counts),
      },
      // Re-provision: tell the phone's registered contacts to fetch their configuration now.
      reprovision: async (mac) => {
        const device = storage.devices.get(mac);
        if (!device?.extension) return { sent: 0, detail: "the phone is not assigned to an extension" };
        const bindings = storage.locations.getBindings(device.extension, clock.wallNow());
        const results = await sendCheckSync(bindings, {
          transactions,
          publicAddress: config.publicAddress,
          sipPort: transports!.port,
          vendor: device.vendor ?? undefined,
        });
        return { sent: results.length, detail: results.map((r) => `${r.contact}: ${r.status}`).join(", ") };
      },
      validateBackup: (path) => inspectDatabase(path),
      // The Paging page maps zones to the box's ALSA outputs and uploads bell sounds.
      audioDevices: () =>
        listPcms().filter((p) => p.direction !== "Input").map(({ name, description }) => ({
          name,
          description,
        })),
      soundsDir: `${config.dataDir}/sounds`,
      inspectWav: (bytes) => {
        const w = readWav(bytes);
        return {
          sampleRate: w.sampleRate,
          channels: w.channels,
          durationMs: Math.round((w.samples.length / w.channels / w.sampleRate) * 1000),
        };
      },
      prompts, // /api/prompts
      logs: () => [...ring],
      firmware: updater,
      maxFirmwareBytes: config.maxFirmwareBytes,
      host: hostControl,
      boxInfo: () => ({
        addresses: [config.publicAddress],
        sipPort: transports!.port,
        httpPort,
        tftpPort: provisioning.tftpPort,
      }),
      health: () => {
        // Media counters ride along so operators (and the port-leak test) can see the pool.
        const h = {
          ok: Object.values(listeners).every(Boolean),
          listeners: { ...listeners },
          media: { activeLegs: media.activeLegs(), freePorts: media.freePorts() },
          memory: Deno.memoryUsage(),
          files: fdStatus(), // open-file limit and descriptors in use (System page)
          calls: b2bua!.calls().length,
          // Trunk registration and keepalive state for the dashboard (never credentials).
          trunks: trunks.service.store.trunks().filter((t) => t.enabled).map((t) => {
            const s = trunks.service.state(t.id);
            return {
              id: t.id,
              ...(s.registration !== undefined ? { registration: s.registration.status } : {}),
              ...(s.keepalive !== undefined ? { keepalive: s.keepalive.status } : {}),
            };
          }),
        };
        return h;
      },
      logger: log.child("web"),
      clock,
      phones: provisioning.phones,
      sipSecurity: security.control,
    });
    // Without the box's certificate (made above) the box runs on plain HTTP only.
    // Before the provisioning routes: their /prov/* would otherwise take ca.crt for a phone file.
    app.route("/", caRoutes(() => tls));
    app.route("/", provisioning.honoRoutes);
    // Our own accept loop with per-source/global caps and header/idle deadlines (Deno.serve has
    // none and its accept loop dies on "Too many open files"). At most a quarter of the fd limit.
    const webMax = fdLimit === null
      ? config.httpMaxConnections
      : Math.max(16, Math.min(config.httpMaxConnections, Math.floor(fdLimit / 4)));
    netLog.info("web connection limits", {
      perListener: webMax,
      perSource: config.httpMaxPerSource,
      headerSec: config.httpHeaderSec,
      idleSec: config.httpIdleSec,
    });
    const serve = (port: number, cert?: { cert: string; key: string }) => {
      const server = serveWeb({
        hostname: config.bind,
        port,
        name: cert ? "https" : "http",
        log: netLog,
        maxConnections: webMax,
        maxPerSource: config.httpMaxPerSource,
        headerMs: config.httpHeaderSec * 1000,
        idleMs: config.httpIdleSec * 1000,
        onError: (e) => {
          log.error("web request failed", { error: e as Error });
          return new Response(JSON.stringify({ error: "internal error" }), { status: 500 });
        },
        ...cert,
      }, (req, info) =>
        // SIP over WebSocket (RFC 7118) on /ws; everything else is the web app. info carries the
        // client address (login limiter, audit, the WebSocket's SIP source).
        sipWebSocket(req, info.remoteAddr, cert !== undefined, {
          transports: () => transports,
          log: sipLog,
        }) ??
          app.fetch(req, info));
      cleanups.push(() => server.stop());
      return server.port;
    };
    httpPort = serve(config.httpPort);
    listeners.http = true;
    // The same app over HTTPS: web UI, API and /prov files; the session cookie gets Secure there.
    let httpsPort: number | null = null;
    if (tls !== null && config.httpsPort !== null) {
      httpsPort = serve(config.httpsPort, { cert: tls.certPem, key: tls.keyPem });
      listeners.https = true;
    }
    // A trial of new firmware is kept once every listener has stayed up for updateConfirmSec.
    cleanups.push(updater.startConfirmTimer(() => Object.values(listeners).every(Boolean)));
    const host = config.publicAddress.includes(":") ? `[${config.publicAddress}]` : config.publicAddress;
    webUrl = httpsPort !== null ? `https://${host}:${httpsPort}` : `http://${host}:${httpPort}`;
    log.info("appliance started", {
      sip: `${config.bind}:${transports.port}`,
      sipUdp: transports.udpKind,
      sipUdpRcvbuf: transports.udpReceiveBuffer,
      sipTls: transports.tlsPort === null ? "off" : `${config.bind}:${transports.tlsPort}`,
      http: `http://${host}:${httpPort}/`,
      https: httpsPort === null ? "off" : `https://${host}:${httpsPort}/ (CA: /prov/ca.crt)`,
      rtp: `${config.rtpPortMin}-${config.rtpPortMax}`,
      tftp: provisioning.tftpPort,
      data: config.dataDir,
      version: updater.info().version,
      slot: updater.slot ?? "dev",
    });
    return {
      config,
      storage,
      sipPort: transports.port,
      sipTlsPort: transports.tlsPort,
      httpPort,
      httpsPort,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function ensureAdmin(storage: Storage, config: BootConfig, log: Logger): Promise<void> {
  if (storage.users.hasAdmin()) return;
  if (config.adminPassword !== undefined && config.adminPassword !== "") {
    await storage.users.create({ username: "admin", role: "admin", password: config.adminPassword });
    log.info("admin password set from PBX_ADMIN_PASSWORD");
    return;
  }
  log.warn(
    "no admin password is set: open the web page to set one, or restart with PBX_ADMIN_PASSWORD=... " +
      "(there is no default password)",
  );
}

/** Entry point for `mod.ts`: start, then stop cleanly on SIGINT/SIGTERM. */
export async function main(
  args: string[],
  options: { features?: readonly FeatureModule[] } = {},
): Promise<void> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage());
    return;
  }
  let appliance: Appliance;
  try {
    appliance = await startAppliance({ args, ...options });
  } catch (e) {
    console.error(`pbx: cannot start: ${(e as Error).message}`);
    Deno.exit(1);
  }
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await appliance.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);
}
