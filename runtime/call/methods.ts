/**
 * The dispatcher's method-handler registry. A feature (or the event core) adds the SIP methods and
 * event packages it serves here, and every `Allow` and `Allow-Events` header the box sends is
 * computed from what is registered, so they never claim a method nobody handles.
 *
 * ```ts
 * const methods = new MethodRegistry();
 * methods.registerMethod("SUBSCRIBE", (req, tx, source) => core.subscribe(req, tx, source));
 * methods.registerEventPackage("dialog");
 * createDispatcher({ ..., methods });
 * ```
 *
 * Handlers get the out-of-dialog requests of their method (no To tag) after the dispatcher's hooks;
 * in-dialog requests go to the dialog's usage in the `CallRegistry` (a subscription registers one).
 */
import type { Peer, SipRequest } from "../sip/message/types.ts";
import type { ServerTransaction } from "../sip/mod.ts";

/** Handles an out-of-dialog request of one method; it must answer `tx`. */
export type MethodHandler = (req: SipRequest, tx: ServerTransaction, source: Peer) => void | Promise<void>;

/** The methods the call layer itself serves (registrar, B2BUA, local calls). */
export const CORE_METHODS: readonly string[] = [
  "INVITE",
  "ACK",
  "CANCEL",
  "BYE",
  "OPTIONS",
  "INFO",
  "REGISTER",
  "UPDATE",
];

/** Methods and event packages registered on the dispatcher. */
export class MethodRegistry {
  #handlers = new Map<string, MethodHandler>();
  #packages = new Set<string>();
  #extraAllow = new Set<string>();

  /**
   * Serve `method` with `handler`. Throws TypeError for a core method (the dispatcher owns those)
   * or a method registered twice.
   */
  registerMethod(method: string, handler: MethodHandler): void {
    const m = method.toUpperCase();
    if (CORE_METHODS.includes(m)) throw new TypeError(`${m} is handled by the call layer itself`);
    if (this.#handlers.has(m)) throw new TypeError(`a handler for ${m} is already registered`);
    this.#handlers.set(m, handler);
  }

  /**
   * List `method` in Allow without an out-of-dialog handler: for methods only served inside
   * dialogs the box owns (e.g. REFER within a call).
   */
  allowInDialog(method: string): void {
    this.#extraAllow.add(method.toUpperCase());
  }

  /** Announce an event package (RFC 6665 Allow-Events). Throws TypeError on a duplicate. */
  registerEventPackage(name: string): void {
    const n = name.trim().toLowerCase();
    if (n === "" || /[\s,;]/.test(n)) throw new TypeError(`bad event package name: ${JSON.stringify(name)}`);
    if (this.#packages.has(n)) throw new TypeError(`event package ${n} is already registered`);
    this.#packages.add(n);
  }

  /** The handler for an out-of-dialog request of `method`, if one is registered. */
  handler(method: string): MethodHandler | undefined {
    return this.#handlers.get(method.toUpperCase());
  }

  /** The Allow header value: the core methods, then the registered ones. */
  allow(): string {
    return [...new Set([...CORE_METHODS, ...this.#handlers.keys(), ...this.#extraAllow])].join(", ");
  }

  /** The Allow-Events header value; undefined when no package is registered. */
  allowEvents(): string | undefined {
    return this.#packages.size === 0 ? undefined : [...this.#packages].join(", ");
  }

  /** Whether an event package is registered. */
  hasEventPackage(name: string): boolean {
    return this.#packages.has(name.trim().toLowerCase());
  }
}
