/**
 * The `presence` event package (RFC 3856) with PIDF bodies (RFC 3863) and RPID activities
 * (RFC 4480): `open` while the extension is registered, `closed` otherwise; notes and activities
 * "On the phone" (a confirmed dialog), "DND" (busy) and "Away".
 */
import type { EventPackage } from "./types.ts";
import type { ExtensionStateSource } from "./state.ts";
import { xmlEscape } from "./_xml.ts";

/** Media type of the presence package. */
export const PIDF_TYPE = "application/pidf+xml";

/** What a watcher is shown of one extension. */
export interface PresenceSummary {
  open: boolean;
  /** RPID activity, or null when available. */
  activity: "on-the-phone" | "busy" | "away" | null;
  note: string;
}

/** Work out the presence of an extension from its registration, DND, away and dialogs. */
export function presenceOf(source: ExtensionStateSource, extension: string): PresenceSummary {
  const p = source.presence(extension);
  if (!p.registered) return { open: false, activity: null, note: "Offline" };
  if (p.dnd) return { open: true, activity: "busy", note: "DND" };
  if (source.dialogs(extension).some((d) => d.state === "confirmed" || d.state === "early")) {
    return { open: true, activity: "on-the-phone", note: "On the phone" };
  }
  if (p.away) return { open: true, activity: "away", note: "Away" };
  return { open: true, activity: null, note: "Available" };
}

/** A PIDF document for `entity` (a pres: or sip: URI). */
export function pidf(entity: string, s: PresenceSummary): string {
  const activity = s.activity === null ? "" : `<rpid:activities><rpid:${s.activity}/></rpid:activities>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" ` +
    `xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" ` +
    `entity="${xmlEscape(entity)}">\n` +
    `<tuple id="t1"><status><basic>${s.open ? "open" : "closed"}</basic></status>` +
    `<note>${xmlEscape(s.note)}</note></tuple>\n` +
    `<dm:person id="p1">${activity}<dm:note>${xmlEscape(s.note)}</dm:note></dm:person>\n` +
    `</presence>\n`;
}

/** The presence package; changes arrive through `core.notify("presence", extension)`. */
export function presencePackage(
  options: { source: ExtensionStateSource; domain: string; exists(resource: string): boolean },
): EventPackage {
  return {
    name: "presence",
    accept: [PIDF_TYPE],
    authorize: (sub) =>
      options.exists(sub.resource) ? undefined : { status: 404, reason: "Not Found (no such extension)" },
    render: (sub) => ({
      contentType: PIDF_TYPE,
      body: pidf(`sip:${sub.resource}@${options.domain}`, presenceOf(options.source, sub.resource)),
    }),
  };
}
