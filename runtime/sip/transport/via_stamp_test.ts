import { deepStrictEqual as assertEquals, strictEqual as assertStrictEquals } from "node:assert";
import type { SipRequest } from "../message/types.ts";
import { stampVia } from "./_via.ts";

function req(...vias: string[]): SipRequest {
  return {
    type: "request",
    method: "OPTIONS",
    uri: "sip:pbx",
    headers: [...vias.map((value) => ({ name: "Via", value })), { name: "CSeq", value: "1 OPTIONS" }],
    body: new Uint8Array(0),
  };
}

const UDP = { transport: "udp", address: "198.51.100.4", port: 40000 } as const;

Deno.test("Via stamping adds received only when the sent-by host differs (RFC 3261 18.2.1)", () => {
  const same = req("SIP/2.0/UDP 198.51.100.4:5060;branch=z9hG4bK1");
  stampVia(same, UDP);
  assertEquals(same.headers[0]!.value, "SIP/2.0/UDP 198.51.100.4:5060;branch=z9hG4bK1");
  const nat = req("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1");
  stampVia(nat, UDP);
  assertEquals(nat.headers[0]!.value, "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;received=198.51.100.4");
});

Deno.test("Via stamping fills an empty rport and always adds received with it (RFC 3581 section 4)", () => {
  const r = req("SIP/2.0/UDP 198.51.100.4:5060;rport;branch=z9hG4bK1");
  stampVia(r, UDP);
  assertEquals(
    r.headers[0]!.value,
    "SIP/2.0/UDP 198.51.100.4:5060;rport=40000;branch=z9hG4bK1;received=198.51.100.4",
  );
});

Deno.test("Via stamping over TCP records the source port even without rport", () => {
  const r = req("SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK1");
  stampVia(r, { ...UDP, transport: "tcp" });
  assertEquals(
    r.headers[0]!.value,
    "SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK1;rport=40000;received=198.51.100.4",
  );
});

Deno.test("Via stamping splits a multi-value Via line and only touches the top value", () => {
  const r = req("SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.6;branch=z9hG4bK2");
  stampVia(r, UDP);
  assertEquals(r.headers.filter((h) => h.name === "Via").map((h) => h.value), [
    "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1;received=198.51.100.4",
    "SIP/2.0/UDP 10.0.0.6;branch=z9hG4bK2",
  ]);
});

Deno.test("Via stamping reports a missing or broken Via", () => {
  assertStrictEquals(stampVia(req(), UDP), false);
  assertStrictEquals(stampVia(req("not a via"), UDP), false);
});
