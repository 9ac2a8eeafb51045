import { deepStrictEqual as eq, ok } from "node:assert";
import { getHeader } from "../sip/message/mod.ts";
import { checkSyncEvent, checkSyncRequest } from "./notify.ts";
import type { Binding } from "../registrar/mod.ts";

const binding: Binding = {
  extension: "201",
  contactUri: "sip:201@192.168.1.20:5060",
  expiresAt: 0,
  callId: "c",
  cseq: 1,
  sourceTransport: "udp",
  sourceAddress: "203.0.113.9",
  sourcePort: 40123,
};

Deno.test("check-sync NOTIFY goes along the registration flow with the vendor's event", () => {
  const { request, target } = checkSyncRequest(binding, {
    publicAddress: "10.0.0.2",
    sipPort: 5060,
    vendor: "yealink",
  });
  eq(request.method, "NOTIFY");
  eq(request.uri, "sip:201@192.168.1.20:5060");
  eq(getHeader(request, "Event"), "check-sync;reboot=false");
  eq(getHeader(request, "Subscription-State"), "terminated");
  eq(target, { transport: "udp", address: "203.0.113.9", port: 40123 });
  ok(getHeader(request, "Via")?.includes("branch=z9hG4bK"));
  eq(getHeader(request, "Via")?.startsWith("SIP/2.0/UDP 10.0.0.2:5060;"), true, "built by buildRequest");
  eq(getHeader(request, "Contact"), "<sip:pbx@10.0.0.2:5060>");
  eq(getHeader(request, "CSeq"), "1 NOTIFY");
  ok(/^<sip:pbx@10\.0\.0\.2:5060>;tag=/.test(getHeader(request, "From")!));
});

Deno.test("check-sync NOTIFY to a contact registered through a proxy carries its Path as Route", () => {
  const { request } = checkSyncRequest({ ...binding, path: ["<sip:proxy.example;lr>"] }, {
    publicAddress: "10.0.0.2",
    sipPort: 5060,
  });
  eq(getHeader(request, "Route"), "<sip:proxy.example;lr>");
});

Deno.test("Cisco phones get Event: resync", () => {
  eq(checkSyncEvent("cisco"), "resync");
  eq(checkSyncEvent(undefined), "check-sync;reboot=false");
});
