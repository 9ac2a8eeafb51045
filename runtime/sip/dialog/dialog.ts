import {
  detachString,
  getHeader,
  getHeaderValues,
  getTag,
  parseCSeq,
  parseNameAddr,
} from "../message/mod.ts";
import type { SipHeader, SipMessage, SipRequest, SipResponse } from "../message/types.ts";
import { newBranch } from "../transaction/mod.ts";

/** Methods whose Contact refreshes the remote target (RFC 3261 section 12.2, RFC 3311/3515/6665). */
const TARGET_REFRESH = new Set(["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"]);

/** The key a dialog is stored under: Call-ID plus both tags (RFC 3261 section 12, "dialog ID"). */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** Where this side's Via says it sends from, for requests the dialog builds. */
export interface ViaAddress {
  transport: "udp" | "tcp" | "tls" | "ws" | "wss";
  host: string;
  port: number;
}

/** Options for `Dialog.createRequest()` and `Dialog.createAck()`. */
export interface DialogRequestOptions {
  /** Our sent-by; a fresh branch is generated per request. */
  via: ViaAddress;
  body?: Uint8Array | string;
  contentType?: string;
  /** Extra headers appended after the dialog's own. */
  headers?: SipHeader[];
}

/** The state a dialog is made of (RFC 3261 section 12). */
export interface DialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Undefined while "empty" (a UAS dialog before it sent a request). */
  localSeq: number | undefined;
  /** Undefined while "empty" (a UAC dialog before it received a request). */
  remoteSeq: number | undefined;
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  /** Route set as name-addr values (e.g. `<sip:p1.example.com;lr>`), in the order to use them. */
  routeSet: string[];
  secure: boolean;
  /** Our Contact value (name-addr) for target refresh requests. */
  localContact: string;
}

function tagOf(msg: SipMessage, header: "From" | "To"): string {
  const v = getHeader(msg, header);
  return v === undefined ? "" : getTag(v) ?? "";
}

function uriOf(msg: SipMessage, header: string): string | undefined {
  const v = getHeaderValues(msg, header)[0];
  if (v === undefined || v.trim() === "*") return undefined;
  try {
    return parseNameAddr(v).uri;
  } catch {
    return undefined;
  }
}

function required(msg: SipMessage, header: string): string {
  const v = getHeader(msg, header);
  if (v === undefined) throw new TypeError(`cannot build a dialog: the message has no ${header} header`);
  return v;
}

function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** A Request-URI may not carry `method` or headers (RFC 3261 section 19.1.1, table 1). */
function requestUriFromRoute(route: string): string {
  let uri = route;
  try {
    uri = parseNameAddr(route).uri;
  } catch {
    uri = route.replace(/^\s*</, "").replace(/>.*$/, "");
  }
  const q = uri.indexOf("?");
  if (q >= 0) uri = uri.slice(0, q);
  return uri.replace(/;method=[^;]*/i, "");
}

function hasLr(route: string): boolean {
  try {
    return /;lr(?:[;=>]|$)/i.test(`<${parseNameAddr(route).uri}>`);
  } catch {
    return /;lr(?:[;=>]|$)/i.test(route);
  }
}

/**
 * A SIP dialog (RFC 3261 section 12): the peer-to-peer state that in-dialog requests are built from
 * and checked against. Plain mutable state; the owner keeps it in a Map under `key`.
 */
export class Dialog implements DialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  localSeq: number | undefined;
  remoteSeq: number | undefined;
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  routeSet: string[];
  secure: boolean;
  localContact: string;

  /**
   * A dialog from explicit state; usually built with `fromUasRequest` or `fromUacResponse`. Strings
   * are copied (`detachString`) so a dialog kept for a whole call does not pin the message texts
   * they were parsed from.
   */
  constructor(state: DialogState) {
    this.callId = detachString(state.callId);
    this.localTag = detachString(state.localTag);
    this.remoteTag = detachString(state.remoteTag);
    this.localSeq = state.localSeq;
    this.remoteSeq = state.remoteSeq;
    this.localUri = detachString(state.localUri);
    this.remoteUri = detachString(state.remoteUri);
    this.remoteTarget = detachString(state.remoteTarget);
    this.routeSet = state.routeSet.map(detachString);
    this.secure = state.secure;
    this.localContact = detachString(state.localContact);
  }

  /**
   * The UAS side of a dialog (RFC 3261 section 12.1.1): route set from Record-Route in order, remote
   * target from the request's Contact, remote sequence from its CSeq, local sequence empty.
   * Throws TypeError when the request lacks Call-ID, From, To, CSeq or Contact.
   */
  static fromUasRequest(req: SipRequest, localTag: string, localContact: string): Dialog {
    const target = uriOf(req, "Contact");
    if (target === undefined) {
      throw new TypeError(`cannot build a dialog: ${req.method} has no usable Contact`);
    }
    return new Dialog({
      callId: required(req, "Call-ID"),
      localTag,
      remoteTag: tagOf(req, "From"),
      localSeq: undefined,
      remoteSeq: parseCSeq(required(req, "CSeq")).seq,
      localUri: uriOf(req, "To") ?? req.uri,
      remoteUri: uriOf(req, "From") ?? "",
      remoteTarget: target,
      routeSet: getHeaderValues(req, "Record-Route"),
      secure: req.uri.toLowerCase().startsWith("sips:"),
      localContact,
    });
  }

  /**
   * The UAC side of a dialog (RFC 3261 section 12.1.2) from a 2xx or a tagged 1xx: route set from
   * the response's Record-Route reversed, remote target from its Contact, local sequence from the
   * request's CSeq, remote sequence empty.
   */
  static fromUacResponse(req: SipRequest, res: SipResponse): Dialog {
    const target = uriOf(res, "Contact");
    if (target === undefined) {
      throw new TypeError(`cannot build a dialog: the ${res.status} has no usable Contact`);
    }
    return new Dialog({
      callId: required(req, "Call-ID"),
      localTag: tagOf(req, "From"),
      remoteTag: tagOf(res, "To"),
      localSeq: parseCSeq(required(req, "CSeq")).seq,
      remoteSeq: undefined,
      localUri: uriOf(req, "From") ?? "",
      remoteUri: uriOf(req, "To") ?? req.uri,
      remoteTarget: target,
      routeSet: getHeaderValues(res, "Record-Route").reverse(),
      secure: req.uri.toLowerCase().startsWith("sips:"),
      localContact: getHeaderValues(req, "Contact")[0] ?? "",
    });
  }

  /** `dialogKey()` of this dialog. */
  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /**
   * A request inside the dialog (RFC 3261 section 12.2.1.1). Request-URI and Route follow the route
   * set: empty or loose (`lr`) first hop -> Request-URI is the remote target and Route is the route
   * set; strict first hop -> Request-URI is that hop and the remote target goes last in Route. The
   * local CSeq goes up by one. ACK and CANCEL are refused: use `createAck()` and the INVITE client
   * transaction's `cancel()`, which keep the INVITE's CSeq.
   */
  createRequest(method: string, options: DialogRequestOptions): SipRequest {
    if (method === "ACK" || method === "CANCEL") {
      throw new TypeError(`${method} keeps the INVITE's CSeq; use createAck() or ClientTransaction.cancel()`);
    }
    // 12.2.1.1 / 8.1.1.5: an empty local sequence starts at a random value below 2^31.
    this.localSeq = this.localSeq === undefined ? 1 + Math.floor(Math.random() * 0x7fff) : this.localSeq + 1;
    return this.#build(method, this.localSeq, options);
  }

  /** The ACK for a 2xx to an INVITE sent with CSeq `inviteCSeq` (RFC 3261 section 13.2.2.4). */
  createAck(inviteCSeq: number, options: DialogRequestOptions): SipRequest {
    return this.#build("ACK", inviteCSeq, options);
  }

  /**
   * Check an in-dialog request against the remote sequence (RFC 3261 section 12.2.2). Returns false
   * when its CSeq is lower than the remote sequence or unparsable; the caller answers 500. On
   * success the remote sequence is updated and a target refresh request's Contact becomes the remote
   * target.
   */
  acceptsRequest(req: SipRequest): boolean {
    const value = getHeader(req, "CSeq");
    if (value === undefined) return false;
    let seq: number;
    try {
      seq = parseCSeq(value).seq;
    } catch {
      return false;
    }
    if (this.remoteSeq !== undefined && seq < this.remoteSeq) return false;
    if (req.method !== "ACK" && req.method !== "CANCEL") this.remoteSeq = seq;
    if (TARGET_REFRESH.has(req.method)) {
      const target = uriOf(req, "Contact");
      if (target !== undefined && target !== this.remoteTarget) this.remoteTarget = detachString(target);
    }
    return true;
  }

  /**
   * Apply a 2xx to a target refresh request we sent (RFC 3261 section 12.2.1.2): its Contact becomes
   * the remote target. Other responses leave the dialog unchanged.
   */
  updateFromResponse(res: SipResponse, method: string): void {
    if (res.status < 200 || res.status >= 300 || !TARGET_REFRESH.has(method)) return;
    const target = uriOf(res, "Contact");
    if (target !== undefined && target !== this.remoteTarget) this.remoteTarget = detachString(target);
  }

  #build(method: string, seq: number, options: DialogRequestOptions): SipRequest {
    const v = options.via;
    const headers: SipHeader[] = [
      {
        name: "Via",
        value: `SIP/2.0/${v.transport.toUpperCase()} ${
          formatHost(v.host)
        }:${v.port};branch=${newBranch()};rport`,
      },
      { name: "Max-Forwards", value: "70" },
      { name: "From", value: `<${this.localUri}>;tag=${this.localTag}` },
      {
        name: "To",
        value: this.remoteTag === "" ? `<${this.remoteUri}>` : `<${this.remoteUri}>;tag=${this.remoteTag}`,
      },
      { name: "Call-ID", value: this.callId },
      { name: "CSeq", value: `${seq} ${method}` },
    ];
    let uri = this.remoteTarget;
    const first = this.routeSet[0];
    if (first === undefined) {
      // 12.2.1.1: empty route set -> no Route, Request-URI is the remote target.
    } else if (hasLr(first)) {
      for (const r of this.routeSet) headers.push({ name: "Route", value: r });
    } else {
      // Strict router: it gets the Request-URI, the remote target rides last in Route.
      uri = requestUriFromRoute(first);
      for (const r of this.routeSet.slice(1)) headers.push({ name: "Route", value: r });
      headers.push({ name: "Route", value: `<${this.remoteTarget}>` });
    }
    if (TARGET_REFRESH.has(method) && this.localContact !== "") {
      headers.push({ name: "Contact", value: this.localContact });
    }
    for (const h of options.headers ?? []) headers.push({ name: h.name, value: h.value });
    const body = typeof options.body === "string"
      ? new TextEncoder().encode(options.body)
      : options.body ?? new Uint8Array(0);
    if (body.length > 0 && options.contentType !== undefined) {
      headers.push({ name: "Content-Type", value: options.contentType });
    }
    headers.push({ name: "Content-Length", value: String(body.length) });
    return { type: "request", method, uri, headers, body };
  }
}
