import assert from "node:assert/strict";
import dgram from "node:dgram";
import { createLogger } from "../runtime/log/mod.ts";
import { openStorage, type Storage } from "../runtime/storage/mod.ts";
import type { Peer, SipMessage } from "../runtime/sip/mod.ts";
import { DEFAULTS } from "./config.ts";
import { createProvisioningData, recordRegistration, startProvisioning } from "./_provisioning.ts";

const log = createLogger("test", { sink: () => {} });

function withStorage(fn: (s: Storage, dataDir: string) => Promise<void> | void) {
  return async () => {
    const dataDir = Deno.makeTempDirSync({ prefix: "pbx-prov-unit-" });
    const s = openStorage({ dataDir, pbkdf2Iterations: 1000 });
    try {
      s.extensions.create({ number: "201", name: "Alice", password: "alice-pass-xyz" }, "pbx");
      await fn(s, dataDir);
    } finally {
      s.close();
      Deno.removeSync(dataDir, { recursive: true });
    }
  };
}

const config = (dataDir: string) => ({
  ...DEFAULTS,
  dataDir,
  bind: "127.0.0.1",
  publicAddress: "192.0.2.10",
  tftpPort: 0,
});

Deno.test(
  "server settings default to the box as NTP server and UTC, and follow the system.time setting",
  withStorage((s, dir) => {
    const data = createProvisioningData(s, { config: config(dir), httpPort: () => 8081, sipPort: 5070 });
    assert.deepEqual(data.server(), {
      sipHost: "192.0.2.10",
      sipPort: 5070,
      httpBase: "http://192.0.2.10:8081",
      ntpServer: "192.0.2.10",
      timeZone: "UTC",
      pagingGroups: [],
      voicemailNumber: "*97",
      directedPickupPrefix: "**",
    });
    s.settings.set("system.time", { timezone: "Europe/Berlin", ntpServers: ["10.0.0.1"] });
    assert.equal(data.server().timeZone, "Europe/Berlin");
    assert.equal(data.server().ntpServer, "10.0.0.1");
    s.contacts.create({ name: "Pizza", number: "0301234", group: "Food" });
    assert.deepEqual(data.phonebook(), [
      { name: "Alice", number: "201", kind: "extension" },
      { name: "Pizza", number: "0301234", kind: "external", group: "Food" },
    ]);
    assert.equal(data.extension("201")?.sipPassword, "alice-pass-xyz");
    assert.equal(data.extension("299"), undefined);
  }),
);

Deno.test(
  "registrations are recorded on the device found by MAC in the User-Agent, +sip.instance or the only assigned phone",
  withStorage((s) => {
    s.devices.assign("805ec0123456", "201");
    s.devices.create({ mac: "0004f2aabbcc" });
    assert.equal(
      recordRegistration(s, {
        userAgent: "Yealink SIP-T28P 2.72.14.2 80:5e:c0:12:34:56",
        contact: "<sip:201@10.0.0.5>",
        at: 1,
      }),
      "805ec0123456",
    );
    assert.equal(
      s.devices.get("805ec0123456")?.lastRegister?.userAgent,
      "Yealink SIP-T28P 2.72.14.2 80:5e:c0:12:34:56",
    );
    assert.equal(
      recordRegistration(s, {
        userAgent: "PolycomVVX-VVX_400-UA/5.9",
        contact: '<sip:201@10.0.0.6>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-0004f2aabbcc>"',
        at: 2,
      }),
      "0004f2aabbcc",
    );
    assert.equal(
      recordRegistration(s, { userAgent: "baresip", contact: "<sip:201@10.0.0.7>", extension: "201", at: 3 }),
      "805ec0123456",
    );
    assert.equal(s.devices.get("805ec0123456")?.lastRegister?.at, 3);
    assert.equal(recordRegistration(s, { userAgent: "x", extension: "202", at: 4 }), null);
  }),
);

Deno.test(
  "the optional PnP multicast listener hands SUBSCRIBEs to the stack and drops everything else",
  withStorage(async (s, dir) => {
    const got: { msg: SipMessage; source: Peer }[] = [];
    let prov;
    try {
      prov = await startProvisioning({
        config: config(dir),
        storage: s,
        log,
        env: {},
        pnpMulticast: { port: 0, interfaceAddress: "127.0.0.1" },
        receiveSip: (msg, source) => void got.push({ msg, source }),
      });
    } catch (e) {
      // No multicast-capable interface in this sandbox: nothing more to check here.
      if (e instanceof RangeError && /multicast/.test(e.message)) return;
      throw e;
    }
    try {
      assert.ok(prov.pnpPort !== null && prov.pnpPort > 0);
      const client = dgram.createSocket("udp4");
      const sendText = (t: string) =>
        new Promise<void>((r) =>
          client.send(t.replaceAll("\n", "\r\n"), prov.pnpPort!, "127.0.0.1", () => r())
        );
      await sendText("garbage\n\n");
      await sendText(
        "REGISTER sip:x SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-2\nFrom: <sip:a@x>;tag=1\nTo: <sip:a@x>\n" +
          "Call-ID: r\nCSeq: 1 REGISTER\nContent-Length: 0\n\n",
      );
      await sendText(
        "SUBSCRIBE sip:MAC%3A805ec0123456@224.0.1.75 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-3\n" +
          "From: <sip:MAC%3A805ec0123456@224.0.1.75>;tag=1\nTo: <sip:MAC%3A805ec0123456@224.0.1.75>\nCall-ID: s\n" +
          "CSeq: 1 SUBSCRIBE\nEvent: ua-profile\nContent-Length: 0\n\n",
      );
      for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      client.close();
      assert.equal(got.length, 1);
      assert.equal(got[0]!.msg.type === "request" && got[0]!.msg.method, "SUBSCRIBE");
      assert.equal(got[0]!.source.address, "127.0.0.1");
    } finally {
      await prov.stop();
    }
  }),
);

Deno.test(
  "extra keys (park slots) follow an assigned phone's own keys: no duplicate value, no more than the model has, none for Zultys or an unassigned phone",
  withStorage((s, dir) => {
    const slots = Array.from({ length: 20 }, (_, i) => ({
      type: "parkslot" as const,
      value: String(701 + i),
      label: `Park ${701 + i}`,
    }));
    const data = createProvisioningData(s, { config: config(dir), extraKeys: () => slots });
    s.devices.create({
      mac: "c074ad000001",
      vendor: "grandstream",
      model: "GRP2612",
      extension: "201",
      lineKeys: [{ type: "park", value: "701", label: "Mine" }],
    });
    const keys = data.device("c074ad000001")!.lineKeys!;
    assert.equal(keys.length, 16, "GRP2612 has 16 keys");
    assert.deepEqual(keys[0], { type: "park", value: "701", label: "Mine" });
    assert.deepEqual(keys.slice(1, 3).map((k) => k.value), ["702", "703"]);
    s.devices.create({ mac: "000bea000001", vendor: "zultys", extension: "201" });
    assert.deepEqual(data.device("000bea000001")!.lineKeys, []);
    s.devices.create({ mac: "001565aabbcc", vendor: "yealink", extension: null });
    assert.deepEqual(data.device("001565aabbcc")!.lineKeys, []);
  }),
);
