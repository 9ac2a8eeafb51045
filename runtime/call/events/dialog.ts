/**
 * The `dialog` event package (RFC 4235) for BLF: application/dialog-info+xml with a version
 * counter per subscription, full state on the initial NOTIFY and refreshes, partial state (the one
 * dialog that changed) on changes. Each dialog carries the watched extension's own SIP dialog with
 * the box (call-id, local-tag: the extension's tag, remote-tag: the box's), its direction and the
 * remote identity, so a phone's BLF key can pick an early (ringing) one up with an INVITE carrying
 * `Replaces: call-id;to-tag=..;from-tag=..` (the box matches its own tag in either position).
 */
import type { EventPackage, SubscriptionView } from "./types.ts";
import type { ExtensionDialog, ExtensionStateSource } from "./state.ts";
import { xmlEscape } from "./_xml.ts";

/** Media type of the dialog package. */
export const DIALOG_INFO_TYPE = "application/dialog-info+xml";

/** Render one `<dialog>` element. */
export function dialogElement(d: ExtensionDialog): string {
  const remote = d.remote.display
    ? `<identity display="${xmlEscape(d.remote.display)}">${xmlEscape(d.remote.identity)}</identity>`
    : `<identity>${xmlEscape(d.remote.identity)}</identity>`;
  const tags = (d.localTag !== undefined ? ` local-tag="${xmlEscape(d.localTag)}"` : "") +
    (d.remoteTag !== undefined ? ` remote-tag="${xmlEscape(d.remoteTag)}"` : "");
  return `<dialog id="${xmlEscape(d.id)}" call-id="${
    xmlEscape(d.callId)
  }"${tags} direction="${d.direction}">` +
    `<state>${d.state}</state>` +
    `<local><identity>${xmlEscape(d.local.identity)}</identity></local>` +
    `<remote>${remote}<target uri="${xmlEscape(d.remote.identity)}"/></remote>` +
    `</dialog>`;
}

/** A dialog-info document. */
export function dialogInfo(
  entity: string,
  options: { version: number; state: "full" | "partial"; dialogs: readonly ExtensionDialog[] },
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="${options.version}" ` +
    `state="${options.state}" entity="${xmlEscape(entity)}">\n` +
    options.dialogs.map((d) => dialogElement(d) + "\n").join("") + `</dialog-info>\n`;
}

/** Options for {@link dialogPackage}. */
export interface DialogPackageOptions {
  source: ExtensionStateSource;
  /** Host of the entity URI (`sip:201@domain`). */
  domain: string;
  /** Whether `resource` is an extension that can be watched (else 404). */
  exists(resource: string): boolean;
}

/**
 * The dialog package. Wire changes with `source.onChange(c => c.kind === "dialog" &&
 * core.notify("dialog", c.extension, c.dialog))` (what {@link attachExtensionState} does).
 */
export function dialogPackage(options: DialogPackageOptions): EventPackage {
  const next = (sub: SubscriptionView) => {
    const v = typeof sub.data.version === "number" ? sub.data.version : -1;
    sub.data.version = v + 1;
    return v + 1;
  };
  return {
    name: "dialog",
    accept: [DIALOG_INFO_TYPE],
    authorize: (sub) =>
      options.exists(sub.resource) ? undefined : { status: 404, reason: "Not Found (no such extension)" },
    render(sub, reason, change) {
      const entity = `sip:${sub.resource}@${options.domain}`;
      const version = next(sub);
      const partial = reason === "change" && change !== undefined;
      const dialogs = partial ? [change as ExtensionDialog] : options.source.dialogs(sub.resource);
      return {
        contentType: DIALOG_INFO_TYPE,
        body: dialogInfo(entity, { version, state: partial ? "partial" : "full", dialogs }),
      };
    },
  };
}
