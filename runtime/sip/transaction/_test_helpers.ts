// Test helpers for the transaction tests: plain message literals and a recording transport.
import type { Clock } from "../../clock/mod.ts";
import type { Peer, SipHeader, SipRequest, SipResponse } from "../message/types.ts";

export const UDP_PEER: Peer = { transport: "udp", address: "192.0.2.10", port: 5060 };
export const TCP_PEER: Peer = { transport: "tcp", address: "192.0.2.10", port: 5060 };

export function request(
  method: string,
  options: {
    branch?: string;
    cseq?: number;
    cseqMethod?: string;
    transport?: "UDP" | "TCP";
    toTag?: string;
  } = {},
): SipRequest {
  const headers: SipHeader[] = [
    {
      name: "Via",
      value: `SIP/2.0/${options.transport ?? "UDP"} 192.0.2.10:5060;branch=${options.branch ?? "z9hG4bKabc"}`,
    },
    { name: "Max-Forwards", value: "70" },
    { name: "From", value: "<sip:alice@example.com>;tag=fromtag" },
    {
      name: "To",
      value: options.toTag === undefined
        ? "<sip:bob@example.com>"
        : `<sip:bob@example.com>;tag=${options.toTag}`,
    },
    { name: "Call-ID", value: "call-1@example.com" },
    { name: "CSeq", value: `${options.cseq ?? 1} ${options.cseqMethod ?? method}` },
    { name: "Route", value: "<sip:proxy.example.com;lr>" },
    { name: "Content-Length", value: "0" },
  ];
  return { type: "request", method, uri: "sip:bob@example.com", headers, body: new Uint8Array(0) };
}

export function response(req: SipRequest, status: number, toTag = "totag"): SipResponse {
  const headers: SipHeader[] = req.headers
    .filter((h) => ["Via", "From", "Call-ID", "CSeq"].includes(h.name))
    .map((h) => ({ ...h }));
  const to = req.headers.find((h) => h.name === "To")!.value;
  headers.push({ name: "To", value: status === 100 || to.includes("tag=") ? to : `${to};tag=${toTag}` });
  headers.push({ name: "Content-Length", value: "0" });
  return { type: "response", status, reason: "Reason", headers, body: new Uint8Array(0) };
}

export interface Sent {
  at: number;
  msg: SipRequest | SipResponse;
  target?: Peer;
}

export function recordingTransport(clock: Clock, options: { fail?: boolean } = {}) {
  const sent: Sent[] = [];
  return {
    sent,
    sendResponse(res: SipResponse): void {
      if (options.fail) throw new Error("network down");
      sent.push({ at: clock.now(), msg: res });
    },
    sendRequest(req: SipRequest, target: Peer): Promise<void> {
      if (options.fail) return Promise.reject(new Error("network down"));
      sent.push({ at: clock.now(), msg: req, target });
      return Promise.resolve();
    },
  };
}

export function header(msg: SipRequest | SipResponse, name: string): string | undefined {
  return msg.headers.find((h) => h.name === name)?.value;
}
