/**
 * SUBSCRIBE/NOTIFY (RFC 6665): the event core packages register on, and the packages `dialog`
 * (RFC 4235), `presence` (RFC 3856/3863), `message-summary` (RFC 3842) and the implicit `refer`
 * subscription (RFC 3515).
 *
 * ```ts
 * const core = new EventCore({ transactions, authorizer, clock, log, publicAddress, sipPort, store });
 * const hub = new ExtensionStateHub({ domain });
 * core.register(dialogPackage({ source: hub, domain, exists }));
 * core.register(presencePackage({ source: hub, domain, exists }));
 * attachExtensionState(core, hub);
 * core.restore();                       // resume stored subscriptions
 * dispatcher hooks: [(req, tx, src) => core.handleRequest(req, tx, src)]
 * hub.fromLiveCall(call, ended);        // or hub.updateDialog / hub.setPresence
 * ```
 * @module
 */
import type { EventCore } from "./core.ts";
import type { ExtensionStateSource } from "./state.ts";
import type { MessageSummaryState } from "./message_summary.ts";

export * from "./types.ts";
export * from "./core.ts";
export * from "./state.ts";
export * from "./dialog.ts";
export * from "./presence.ts";
export * from "./message_summary.ts";
export * from "./refer.ts";
export * from "./store.ts";
export * from "./check_sync.ts";
export * from "./unsolicited_mwi.ts";

/**
 * Forward state changes to the core: a dialog change notifies `dialog` watchers (partial state)
 * and `presence` watchers; a presence change notifies `presence` watchers. Returns the unsubscribe.
 */
export function attachExtensionState(core: EventCore, source: ExtensionStateSource): () => void {
  return source.onChange((c) => {
    if (c.kind === "dialog") core.notify("dialog", c.extension, c.dialog);
    core.notify("presence", c.extension);
  });
}

/** Forward mailbox changes to `message-summary` watchers. Returns the unsubscribe. */
export function attachMessageSummary(core: EventCore, state: MessageSummaryState): () => void {
  return state.onChange((mailbox) => core.notify("message-summary", mailbox));
}
