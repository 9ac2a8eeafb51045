/**
 * Wiring of the SIP brute-force limiting: the per-source and per-extension limiters from the boot
 * configuration, the allow-list from the `security.allowList` setting, blocks and lockouts into
 * the audit log, and the control the web security page uses.
 */
import type { BootConfig } from "./config.ts";
import type { Clock } from "../runtime/clock/mod.ts";
import type { Logger } from "../runtime/log/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { FailureLimiter } from "../runtime/sip/auth/mod.ts";
import { AllowList, type AuthorizerOptions } from "../runtime/registrar/mod.ts";
import { ALLOW_LIST_SETTING, type SipSecurityControl } from "../web/mod.ts";

/** Build the limiters, the allow-list and the web control over them. */
export function sipSecurity(
  options: { config: BootConfig; storage: Storage; clock: Clock; log: Logger },
): {
  authorizerOptions: Pick<
    AuthorizerOptions,
    "limiter" | "extensionLimiter" | "allowList" | "onSecurityEvent"
  >;
  control: SipSecurityControl;
} {
  const { config, storage, clock, log } = options;
  const limiter = new FailureLimiter({
    clock,
    delayAfter: config.authDelayAfter,
    blockAfter: config.authBlockAfter,
    blockMs: config.authBlockMinutes * 60_000,
    longBlockAfter: config.authHourlyBlockAfter,
  });
  const extensionLimiter = new FailureLimiter({
    clock,
    windowMs: 3_600_000,
    blockAfter: config.authExtLockAfter,
    longBlockAfter: Infinity,
    delayAfter: Infinity,
    blockMs: config.authExtLockMinutes * 60_000,
    successClears: false,
  });
  const allowList = new AllowList();
  const stored = storage.settings.get<unknown>(ALLOW_LIST_SETTING);
  try {
    allowList.set(Array.isArray(stored) ? stored.filter((x): x is string => typeof x === "string") : []);
  } catch (e) {
    log.error("ignoring the stored allow-list", { error: e as Error });
  }
  const blocks = (l: FailureLimiter, kind: "sip-source" | "sip-extension") =>
    l.list().filter((e) => e.blocked).map((e) => ({
      kind,
      key: e.ip,
      failures: e.failures,
      blockedUntil: e.blockedUntil ?? 0,
    }));
  return {
    authorizerOptions: {
      limiter,
      extensionLimiter,
      allowList,
      onSecurityEvent: (e) => {
        try {
          storage.audit.record({
            actor: e.user ?? "?",
            action: `security.${e.action}`,
            detail: { failures: e.failures, until: e.until },
            sourceIp: e.source,
          });
        } catch (error) {
          log.error("writing a security event to the audit log failed", { error: error as Error });
        }
      },
    },
    control: {
      blocks: () => [...blocks(limiter, "sip-source"), ...blocks(extensionLimiter, "sip-extension")],
      unblock: (kind, key) => {
        const l = kind === "sip-source" ? limiter : extensionLimiter;
        const was = l.isBlocked(key);
        l.unblock(key);
        if (was) log.warn(`SECURITY ${kind === "sip-source" ? "source" : "extension"}-unblocked`, { key });
        return was;
      },
      setAllowList: (networks) => allowList.set(networks),
    },
  };
}
