import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { formatVia, parseCSeq, parseVia } from "./mod.ts";

Deno.test("Via with port, branch, received and valueless rport", () => {
  const v = parseVia("SIP/2.0/udp 192.0.2.1:5060;branch=z9hG4bK776;received=198.51.100.7;rport");
  strictEqual(v.protocol, "SIP/2.0");
  strictEqual(v.transport, "UDP");
  strictEqual(v.host, "192.0.2.1");
  strictEqual(v.port, 5060);
  deepStrictEqual([...v.params], [["branch", "z9hG4bK776"], ["received", "198.51.100.7"], ["rport", null]]);
  strictEqual(formatVia(v), "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;received=198.51.100.7;rport");
});

Deno.test("Via with rport value, IPv6 sent-by and IPv6 received", () => {
  const v = parseVia("SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;rport=40000;received=2001:db8::9");
  strictEqual(v.host, "2001:db8::1");
  strictEqual(v.params.get("rport"), "40000");
  strictEqual(v.params.get("received"), "2001:db8::9");
  strictEqual(
    formatVia(v),
    "SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;rport=40000;received=2001:db8::9",
  );
});

Deno.test("Via tolerates LWS around slashes, colon, semicolons and equals", () => {
  const v = parseVia("SIP  /   2.0 /UDP    h.example.com : 5070 ;  branch =  z9hG4bK1  ");
  strictEqual(v.host, "h.example.com");
  strictEqual(v.port, 5070);
  strictEqual(v.params.get("branch"), "z9hG4bK1");
});

Deno.test("malformed Via values throw SyntaxError", () => {
  for (
    const bad of [
      "SIP/2.0/UDP",
      "SIP/7.0/UDP h",
      "SIP/2.0 h",
      "SIP/2.0/UDP h;;",
      "SIP/2.0/UDP h;branch=",
      "SIP/2.0/UDP h:99999",
      "SIP/2.0/UDP h, SIP/2.0/UDP g",
      "SIP/2.0/UDPh",
      "",
    ]
  ) {
    throws(() => parseVia(bad), SyntaxError, bad);
  }
});

Deno.test("CSeq parses number and method, with leading zeros and 32-bit limit", () => {
  deepStrictEqual(parseCSeq("0009\t INVITE"), { seq: 9, method: "INVITE" });
  deepStrictEqual(parseCSeq("4294967295 ACK"), { seq: 4294967295, method: "ACK" });
  for (const bad of ["4294967296 INVITE", "INVITE", "1", "1 IN VITE", "-1 INVITE", "1INVITE"]) {
    throws(() => parseCSeq(bad), SyntaxError, bad);
  }
});
