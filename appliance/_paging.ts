/**
 * Wires overhead paging: the paging service over the real ALSA writer and amplifier lines, the
 * scheduler, and the numbers callers dial. Dialling a zone or group number pages it; the same
 * number with a leading `*` pages it at emergency priority (pre-empting normal pages and bells).
 */
import {
  LATENCY_PROBE_EVERY,
  type PageArgs,
  pagingFeature,
  PagingService,
} from "../runtime/features/paging/mod.ts";
import {
  type Application,
  applicationHandler,
  type FeatureModule,
  type LocalCallHandler,
} from "../runtime/call/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import type { Clock } from "../runtime/clock/mod.ts";
import type { Logger } from "../runtime/log/mod.ts";
import { AlsaWriter } from "../drivers/alsa/mod.ts";
import { openLine } from "../drivers/gpio/mod.ts";

/** Prefix that turns a page into an emergency page. */
export const EMERGENCY_PREFIX = "*";

/**
 * Every Nth frame of caller audio carries a latency probe: when it reaches the speaker, a debug
 * line gives the time since its RTP packet arrived (`msFromRtp`). The first probe written also gives
 * the time since the INVITE arrived (`msFromInvite`): normally the first frame, but a live frame that
 * finds the device queue too long is dropped (maxLiveQueueMs), probe and all, so "first written" is
 * what is reported. tests/bench/paging_latency.ts reads these lines.
 */
export { LATENCY_PROBE_EVERY };

/** The running paging wiring. */
export interface PagingWiring {
  service: PagingService;
  /** What paging adds to the box, for the appliance's feature list. */
  feature: FeatureModule;
  /** The handler for a dialled number, or undefined when it is not a paging target. */
  route(dialled: string): LocalCallHandler | undefined;
  close(): Promise<void>;
}

/** Start the paging service and its scheduler. */
export function startPaging(options: { storage: Storage; clock: Clock; log: Logger }): PagingWiring {
  const { storage, clock, log } = options;
  const service = new PagingService({
    store: storage.paging,
    clock,
    logger: log,
    openSpeaker: (device, hints) =>
      AlsaWriter.open({
        device,
        rate: 48000,
        channels: hints.channels,
        onWritten: hints.onWritten,
        onError: hints.onError,
      }),
    openAmpLine: (spec) => openLine(spec),
    timeZone: () => storage.settings.get<{ timezone?: string }>("system.time")?.timezone ?? "UTC",
  });
  service.startScheduler();

  // Paging is an application on the call-control API (runtime/features/paging/application.ts),
  // declared with its numbers as a feature module.
  const feature = pagingFeature(service, { log, store: storage.paging });
  const app = feature.applications![0] as Application<PageArgs>;
  const handlerFor = (target: string, emergency: boolean): LocalCallHandler =>
    applicationHandler(app, { target, emergency }, { media: {}, clock, log });

  return {
    service,
    feature,
    route(dialled) {
      const emergency = dialled.startsWith(EMERGENCY_PREFIX);
      const target = emergency ? dialled.slice(EMERGENCY_PREFIX.length) : dialled;
      if (target === "" || service.resolveTarget(target) === undefined) return undefined;
      return handlerFor(target, emergency);
    },
    close: () => service.close(),
  };
}
