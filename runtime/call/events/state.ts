/**
 * State sources the packages read: per-extension dialogs (RFC 4235 states) and presence. The call
 * engine (or today's B2BUA through `ExtensionStateHub.fromLiveCall`) feeds the hub; the dialog and
 * presence packages listen to it.
 */
import type { LiveCall } from "../types.ts";

/** One dialog of an extension, as RFC 4235 describes it. */
export interface ExtensionDialog {
  /** Stable id of the dialog within the extension (the call id). */
  id: string;
  /** The SIP Call-ID of the extension's own dialog with the box (the call id when not known). */
  callId: string;
  /** The extension's own tag in that dialog (RFC 4235 local-tag), once it sent one. */
  localTag?: string;
  /** The box's tag in that dialog (RFC 4235 remote-tag). */
  remoteTag?: string;
  /** initiator: the extension called; recipient: it is being called. */
  direction: "initiator" | "recipient";
  state: "trying" | "proceeding" | "early" | "confirmed" | "terminated";
  /** The other party: SIP URI and optional display name. */
  remote: { identity: string; display?: string };
  /** The extension's own identity URI. */
  local: { identity: string };
}

/** Presence of one extension. */
export interface ExtensionPresence {
  registered: boolean;
  dnd: boolean;
  away: boolean;
}

/** A change an {@link ExtensionStateSource} reports. */
export type ExtensionChange =
  | { kind: "dialog"; extension: string; dialog: ExtensionDialog }
  | { kind: "presence"; extension: string };

/** Where the dialog and presence packages read state from. */
export interface ExtensionStateSource {
  /** Current dialogs of an extension (terminated ones are gone). */
  dialogs(extension: string): ExtensionDialog[];
  presence(extension: string): ExtensionPresence;
  /** Listen to changes; returns an unsubscribe function. */
  onChange(listener: (change: ExtensionChange) => void): () => void;
}

/** A settable {@link ExtensionStateSource}. */
export class ExtensionStateHub implements ExtensionStateSource {
  #dialogs = new Map<string, Map<string, ExtensionDialog>>();
  #presence = new Map<string, ExtensionPresence>();
  /** The extensions each live call has dialogs at (fromLiveCall). */
  #parties = new Map<string, Set<string>>();
  #listeners = new Set<(change: ExtensionChange) => void>();
  #domain: string;

  /** `domain` is the host part of identities the hub makes (`sip:201@domain`). */
  constructor(options: { domain: string }) {
    this.#domain = options.domain;
  }

  dialogs(extension: string): ExtensionDialog[] {
    return [...(this.#dialogs.get(extension)?.values() ?? [])];
  }

  presence(extension: string): ExtensionPresence {
    return { ...(this.#presence.get(extension) ?? { registered: false, dnd: false, away: false }) };
  }

  onChange(listener: (change: ExtensionChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Set (or, with state "terminated", end) one dialog of an extension. */
  updateDialog(extension: string, dialog: ExtensionDialog): void {
    let m = this.#dialogs.get(extension);
    const before = m?.get(dialog.id);
    if (before && before.state === dialog.state && before.localTag === dialog.localTag) return;
    if (dialog.state === "terminated") {
      if (!before) return;
      m!.delete(dialog.id);
      if (m!.size === 0) this.#dialogs.delete(extension);
    } else {
      if (!m) this.#dialogs.set(extension, m = new Map());
      m.set(dialog.id, dialog);
    }
    this.#emit({ kind: "dialog", extension, dialog });
  }

  /** Update presence fields of an extension. */
  setPresence(extension: string, patch: Partial<ExtensionPresence>): void {
    const before = this.presence(extension);
    const after = { ...before, ...patch };
    if (after.registered === before.registered && after.dnd === before.dnd && after.away === before.away) {
      return;
    }
    this.#presence.set(extension, after);
    this.#emit({ kind: "presence", extension });
  }

  /** Map a B2BUA live-call change to both extensions' dialogs (the tiny hook on today's B2BUA). */
  fromLiveCall(call: LiveCall, ended: boolean): void {
    // A party the call no longer has (a ringing phone whose call was picked up elsewhere, a replaced
    // or transferred one): its dialog of this call ends.
    const parties = ended ? new Set<string>() : new Set([call.caller, call.callee]);
    for (const ext of this.#parties.get(call.id) ?? []) {
      const d = this.#dialogs.get(ext)?.get(call.id);
      if (!parties.has(ext) && d !== undefined) this.updateDialog(ext, { ...d, state: "terminated" });
    }
    if (ended) this.#parties.delete(call.id);
    else this.#parties.set(call.id, parties);
    const state: ExtensionDialog["state"] = ended
      ? "terminated"
      : call.state === "answered"
      ? "confirmed"
      : call.state === "ringing"
      ? "early"
      : "trying";
    const uri = (n: string) => `sip:${n}@${this.#domain}`;
    // Each extension sees its own SIP dialog with the box: its tag is local, the box's remote.
    const sip = (d: LiveCall["callerDialog"]) =>
      d === undefined ? { callId: call.id } : {
        callId: d.callId,
        ...(d.phoneTag !== undefined ? { localTag: d.phoneTag } : {}),
        remoteTag: d.boxTag,
      };
    this.updateDialog(call.caller, {
      id: call.id,
      ...sip(call.callerDialog),
      direction: "initiator",
      state: state === "early" ? "early" : state,
      remote: { identity: uri(call.callee) },
      local: { identity: uri(call.caller) },
    });
    // The callee's dialog shows once its phone answers the INVITE with a provisional response (early,
    // with its tag: what a BLF key needs to pick the call up); before that it is not there yet.
    if (state === "trying") return;
    this.updateDialog(call.callee, {
      id: call.id,
      ...sip(call.calleeDialog),
      direction: "recipient",
      state,
      remote: { identity: uri(call.caller) },
      local: { identity: uri(call.callee) },
    });
  }

  #emit(change: ExtensionChange): void {
    for (const l of this.#listeners) l(change);
  }
}
