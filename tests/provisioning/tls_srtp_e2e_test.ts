/**
 * Provisioning hands a phone TLS, SRTP and the box's CA (issue 16): extension 201 set to
 * `sipTransport: "tls"` and `srtp: "required"` through the REST API; the assigned Yealink and
 * Grandstream phones fetch their files over HTTP from the running appliance and get its real SIP-TLS
 * port, TLS transport, compulsory SRTP and the CA (URL or PEM) the box actually serves; extension 202
 * left at the defaults gets UDP and SRTP off.
 */
import assert from "node:assert/strict";
import { startPbx } from "../sip/_setup.ts";

Deno.test("provisioned files carry the SIP-TLS port, TLS, the SRTP policy and the box's CA", async () => {
  const pbx = await startPbx();
  try {
    const tlsPort = pbx.app.sipTlsPort;
    assert.ok(tlsPort !== null, "SIP over TLS is on");
    await pbx.api.put("/api/extensions/201", { options: { srtp: "required", sipTransport: "tls" } });
    const bad = await pbx.api.request("PUT", "/api/extensions/201", { options: { sipTransport: "tcp" } });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(String((bad.body as { error?: string }).error), /sipTransport must be "udp" or "tls"/);
    for (
      const [mac, vendor, extension] of [
        ["805ec0123456", "yealink", "201"],
        ["c074ad000001", "grandstream", "201"],
        ["805ec0654321", "yealink", "202"],
      ]
    ) {
      const r = await pbx.api.request("POST", "/api/phones", { mac, vendor, extension });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const fetchText = async (path: string) => {
      const r = await fetch(`${pbx.app.baseUrl}${path}`);
      const t = await r.text();
      assert.equal(r.status, 200, `${path}: ${t}`);
      return t;
    };
    const yealink = await fetchText("/prov/805ec0123456.cfg");
    for (
      const line of [
        `account.1.sip_server.1.port = ${tlsPort}`,
        "account.1.sip_server.1.transport_type = 2",
        "account.1.srtp_encryption = 2",
        "static.security.trust_certificates = 1",
      ]
    ) assert.ok(yealink.includes(`${line}\n`), `${line} missing:\n${yealink}`);
    const caUrl = /^static\.trusted_certificates\.url = (\S+)$/m.exec(yealink)?.[1];
    assert.ok(caUrl !== undefined, yealink);
    // The URL names the box's address; fetch the same path from the test's listener.
    const ca = await fetchText(new URL(caUrl).pathname);
    const caFile = await Deno.readTextFile(`${pbx.app.dataDir}/tls/ca/rootCA.pem`);
    assert.equal(
      ca.trim(),
      caFile.trim(),
      "the CA the file points to is the one that signed the box's certificate",
    );

    const gs = await fetchText("/prov/cfgc074ad000001.xml");
    assert.ok(
      gs.includes(`:${tlsPort}</P47>`) && gs.includes("<P130>2</P130>") && gs.includes("<P183>2</P183>"),
      gs,
    );
    const pem = /<P8433>([^<]*)<\/P8433>/.exec(gs)?.[1]?.replaceAll("&#10;", "\n");
    assert.equal(pem?.trim(), caFile.trim());

    const plain = await fetchText("/prov/805ec0654321.cfg");
    assert.ok(plain.includes(`account.1.sip_server.1.port = ${pbx.app.sipPort}\n`), plain);
    assert.ok(plain.includes("account.1.sip_server.1.transport_type = 0\n"), plain);
    assert.ok(plain.includes("account.1.srtp_encryption = 0\n"), plain);
    assert.ok(!plain.includes("trusted_certificates"), plain);
  } finally {
    await pbx.app.stop();
  }
});
