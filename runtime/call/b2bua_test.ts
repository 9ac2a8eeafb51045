import { deepStrictEqual as eq } from "node:assert";
import { peerOfBinding } from "./b2bua.ts";
import type { Binding } from "../registrar/mod.ts";

const base: Binding = {
  extension: "201",
  contactUri: "sip:201@192.168.1.20:5060",
  expiresAt: 0,
  callId: "c",
  cseq: 1,
  sourceTransport: "udp",
  sourceAddress: "203.0.113.9",
  sourcePort: 40123,
};

Deno.test("a contact behind NAT is reached at the REGISTER's source address and port", () => {
  eq(peerOfBinding(base), { transport: "udp", address: "203.0.113.9", port: 40123 });
});

Deno.test("a contact on the source address is reached at its own port", () => {
  eq(
    peerOfBinding({ ...base, contactUri: "sip:201@203.0.113.9:5072", sourcePort: 5073 }),
    { transport: "udp", address: "203.0.113.9", port: 5072 },
  );
});

Deno.test("TCP and RFC 5626 ;ob contacts always use the registration flow", () => {
  eq(peerOfBinding({ ...base, sourceTransport: "tcp", contactUri: "sip:201@203.0.113.9:5072" }).port, 40123);
  eq(peerOfBinding({ ...base, contactUri: "sip:201@203.0.113.9:5072;ob" }).port, 40123);
});
