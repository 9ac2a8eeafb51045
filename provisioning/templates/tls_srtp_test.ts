/**
 * TLS transport, SRTP policy and the box's CA in each vendor's syntax (issue 16): an extension set
 * to `sipTransport: "tls"` is sent to the SIP-TLS port with its SRTP policy and the CA; one on UDP
 * (the default) gets port 5060-style plain settings and SRTP off; Zultys gets nothing unverified.
 */
import { assert, assertEquals, assertIncludes, assertNotIncludes } from "../_test_assert.ts";
import { type GeneratedFile, generateFile, type GenerateRefusal, routeRequest } from "./generate.ts";
import { fakeData } from "../_test_data.ts";
import type { ExtensionAccount } from "../types.ts";
import { secureAccount } from "./view.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZm9v\nYmFy\n-----END CERTIFICATE-----";

function render(file: string, account: Partial<ExtensionAccount>, tlsPort: number | null = 5061): string {
  const f = fakeData({
    account201: account,
    server: { sipTlsPort: tlsPort, ...(tlsPort !== null ? { caCertPem: CA } : {}) },
  });
  const route = routeRequest(file, { deviceVendor: (m) => f.data.device(m)?.vendor, userAgent: null });
  if (!route) throw new Error(`no route for ${file}`);
  const r: GeneratedFile | GenerateRefusal = generateFile(route, f.data, { now: Date.UTC(2026, 0, 15) });
  if ("status" in r) throw new Error(`refused: ${r.status} ${r.reason}`);
  return new TextDecoder().decode(r.body);
}

const TLS_REQUIRED = { sipTransport: "tls", srtp: "required" } as const;
const TLS_OFFERED = { sipTransport: "tls", srtp: "offered" } as const;

Deno.test("secureAccount: TLS only when asked and on; SRTP follows the policy only over TLS", () => {
  const server = {
    sipHost: "h",
    sipPort: 5060,
    httpBase: "",
    ntpServer: "",
    timeZone: "UTC",
    pagingGroups: [],
  };
  const acct = (a: Partial<ExtensionAccount>) => ({ number: "1", name: "n", sipPassword: "p", ...a });
  const tls = secureAccount(acct(TLS_REQUIRED), { ...server, sipTlsPort: 5061 });
  assertEquals([tls.tls, tls.port, tls.srtp, tls.yealinkSrtp, tls.gsSrtp], [true, 5061, true, 2, 2]);
  const offered = secureAccount(acct(TLS_OFFERED), { ...server, sipTlsPort: 5061 });
  assertEquals([offered.yealinkSrtp, offered.gsSrtp, offered.ciscoSecureCall], [1, 1, "Optional"]);
  // TLS off on the box: the phone stays on UDP and gets no SRTP (no SDES keys over UDP).
  const noTls = secureAccount(acct(TLS_REQUIRED), { ...server, sipTlsPort: null });
  assertEquals([noTls.tls, noTls.port, noTls.srtp, noTls.yealinkTransport], [false, 5060, false, 0]);
  const udp = secureAccount(acct({ srtp: "required" }), { ...server, sipTlsPort: 5061 });
  assertEquals([udp.tls, udp.port, udp.srtp], [false, 5060, false]);
});

Deno.test("Yealink: transport_type 2, port 5061, srtp_encryption by policy, trusted CA URL", () => {
  const t = render("001565aabbcc.cfg", TLS_REQUIRED);
  for (
    const line of [
      "account.1.sip_server.1.port = 5061",
      "account.1.sip_server.1.transport_type = 2",
      "account.1.srtp_encryption = 2",
      "static.trusted_certificates.url = http://192.0.2.10:8080/prov/ca.crt",
      "static.security.trust_certificates = 1",
    ]
  ) assertIncludes(t, `${line}\n`);
  assertIncludes(render("001565aabbcc.cfg", TLS_OFFERED), "account.1.srtp_encryption = 1\n");
  const udp = render("001565aabbcc.cfg", {});
  assertIncludes(udp, "account.1.sip_server.1.port = 5070\n");
  assertIncludes(udp, "account.1.sip_server.1.transport_type = 0\n");
  assertIncludes(udp, "account.1.srtp_encryption = 0\n");
  assertNotIncludes(udp, "trusted_certificates");
});

Deno.test("Polycom: reg.1.server.1.transport TLS, sec.srtp.*, the CA inline with its line breaks", () => {
  const t = render("0004f2aabbcc-pbx.cfg", TLS_REQUIRED);
  for (
    const attr of [
      'reg.1.server.1.port="5061"',
      'reg.1.server.1.transport="TLS"',
      'sec.srtp.enable="1"',
      'sec.srtp.offer="1"',
      'sec.srtp.require="1"',
      'device.sec.TLS.customCaCert1.set="1"',
    ]
  ) assertIncludes(t, attr);
  // The PEM survives XML attribute normalization: line breaks are character references.
  const m = /device\.sec\.TLS\.customCaCert1="([^"]*)"/.exec(t);
  assert(m !== null, t);
  assertEquals(m[1]!.replaceAll("&#10;", "\n"), CA);
  assertIncludes(render("0004f2aabbcc-pbx.cfg", TLS_OFFERED), 'sec.srtp.require="0"');
  const udp = render("0004f2aabbcc-pbx.cfg", {});
  assertIncludes(udp, 'reg.1.server.1.transport="UDPOnly"');
  assertIncludes(udp, 'sec.srtp.enable="0"');
  assertNotIncludes(udp, "customCaCert");
});

Deno.test("Cisco MPP: SIP_Transport_1_ TLS, Secure_Call_Option_1_ by policy, Custom_CA_Rule", () => {
  const t = render("spac0ffee000001.xml", TLS_REQUIRED);
  for (
    const el of [
      "<SIP_Port_1_>5061</SIP_Port_1_>",
      "<SIP_Transport_1_>TLS</SIP_Transport_1_>",
      "<Secure_Call_Serv>Yes</Secure_Call_Serv>",
      "<Secure_Call_Option_1_>Required</Secure_Call_Option_1_>",
      "<Custom_CA_Rule>http://192.0.2.10:8080/prov/ca.crt</Custom_CA_Rule>",
    ]
  ) assertIncludes(t, el);
  assertIncludes(render("spac0ffee000001.xml", TLS_OFFERED), "<Secure_Call_Option_1_>Optional<");
  const udp = render("spac0ffee000001.xml", {});
  assertIncludes(udp, "<SIP_Transport_1_>UDP</SIP_Transport_1_>");
  assertNotIncludes(udp, "Secure_Call");
  assertNotIncludes(udp, "Custom_CA_Rule");
});

Deno.test("Grandstream: P130 2 (TLS), P183 by policy, port 5061 in P47, the CA in P8433", () => {
  const t = render("cfgc074ad000001.xml", TLS_REQUIRED);
  for (
    const el of [
      "<P47>192.0.2.10:5061</P47>",
      "<P130>2</P130>",
      "<P183>2</P183>",
      "<P8433>-----BEGIN CERTIFICATE-----",
    ]
  ) assertIncludes(t, el);
  assertIncludes(render("cfgc074ad000001.xml", TLS_OFFERED), "<P183>1</P183>");
  const udp = render("cfgc074ad000001.xml", {});
  assertIncludes(udp, "<P130>0</P130>");
  assertIncludes(udp, "<P183>0</P183>");
  assertNotIncludes(udp, "P8433");
});

Deno.test("Zultys: no verified TLS/SRTP keys, so the file stays on the plain port whatever the extension says", () => {
  const t = render("000BEA000001.cfg", TLS_REQUIRED);
  assertIncludes(t, "proxy_port=5070\n");
  assertNotIncludes(t, "5061");
  assertNotIncludes(t, "BEGIN CERTIFICATE");
});

Deno.test("a box without SIP over TLS keeps every vendor on UDP with SRTP off, even for a TLS extension", () => {
  assertIncludes(
    render("001565aabbcc.cfg", TLS_REQUIRED, null),
    "account.1.sip_server.1.transport_type = 0\n",
  );
  assertIncludes(render("0004f2aabbcc-pbx.cfg", TLS_REQUIRED, null), 'sec.srtp.require="0"');
  assertIncludes(render("spac0ffee000001.xml", TLS_REQUIRED, null), "<SIP_Transport_1_>UDP<");
  assertIncludes(render("cfgc074ad000001.xml", TLS_REQUIRED, null), "<P183>0</P183>");
});
