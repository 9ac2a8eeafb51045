/**
 * Paging as an application on the call-control API (runtime/call/application.ts): the caller's leg
 * is refused when the extension may not page the target (403) or the zones are busy (486), else
 * answered, and its decoded audio goes to the page until the caller hangs up or a higher-priority
 * page pre-empts it (then the box hangs up).
 */
import type { Application, FeatureModule } from "../../call/mod.ts";
import type { Logger } from "../../log/mod.ts";
import type { PagingService } from "./service.ts";
import type { PagingStore } from "../../storage/mod.ts";

/** Every Nth frame of caller audio carries a latency probe (see appliance/_paging.ts). */
export const LATENCY_PROBE_EVERY = 5;

/** What one page call is: the zone or group number and whether it is an emergency page. */
export interface PageArgs {
  target: string;
  emergency: boolean;
  /**
   * A page the box starts itself (park's slot announcement through another feature's
   * `runApplication`): named by this label, not checked against extension permissions. Never
   * set from a dialled number (the paging route passes only target and emergency).
   */
  origin?: string;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** The paging application over a running service. */
export function pagingApplication(service: PagingService, log: Logger): Application<PageArgs> {
  return {
    name: "paging",
    run(leg, { target, emergency, origin }) {
      const { caller, receivedAt, codec } = leg.info;
      if (origin === undefined && !service.canPage(caller, target)) {
        log.warn("page refused: extension may not page this target", { caller, target });
        leg.reject(403, "Forbidden (not allowed to page this zone)");
        return;
      }
      if (origin !== undefined && !service.resolveTarget(target)?.length) {
        log.warn("page refused: no such zone or group, or no zone enabled", { origin, target });
        leg.reject(404, "Not Found (no paging zone or group)");
        return;
      }
      const handle = service.startPage({
        target,
        priority: emergency ? "emergency" : "page",
        origin: origin === undefined ? { extension: caller } : { label: origin },
        // A higher-priority page took the zones: end this caller's page.
        onPreempted: () => leg.hangup("pre-empted"),
        // The zones' maximum page duration passed: the box ends the call, the zones are free.
        onTimeLimit: () => leg.hangup("page-max-duration"),
      });
      if (handle.state === "rejected") {
        leg.reject(486, "Busy Here (zone in use)");
        return;
      }
      let frames = 0;
      let firstWritten = false;
      leg.onAudio((pcm, sampleRate, info) => {
        const n = frames++;
        if (n % LATENCY_PROBE_EVERY !== 0) {
          handle.push({ samples: pcm, sampleRate });
          return;
        }
        handle.pushTracked({ samples: pcm, sampleRate }, (at) => {
          const fields: Record<string, unknown> = {
            page: handle.id,
            codec,
            msFromRtp: round(at - info.receivedAt),
          };
          if (!firstWritten) {
            firstWritten = true;
            fields.msFromInvite = round(at - receivedAt);
            if (n !== 0) fields.frame = n;
            // Its own message: the log's repeat limit (20 lines of one message per 10 s) must never
            // drop the one line per page that gives its start latency.
            log.debug("page first audio written", fields);
            return;
          }
          log.debug("page audio written", fields);
        });
      });
      // The post-tone plays and the amplifier tail runs after the caller is gone.
      leg.on((ev) => {
        if (ev.type === "hangup") void handle.end();
      });
      leg.answer();
    },
  };
}

/**
 * Paging as a feature module: its application. The numbers of its zones and groups (each also
 * reachable with the emergency prefix) come into the number plan from the paging store itself
 * (route/claims.ts `pagingClaims`), so they are not declared again here; its schema (migration
 * 003) stays in the storage list.
 */
export function pagingFeature(
  service: PagingService,
  options: { log: Logger; store: Pick<PagingStore, "listZones" | "listGroups"> },
): FeatureModule {
  return {
    name: "paging",
    applications: [pagingApplication(service, options.log)],
  };
}
