import { assert, assertEquals } from "../_test_assert.ts";
import { answerPnpSubscribe, extractMac, parseUaProfileEvent } from "./pnp.ts";

const yealinkSubscribe = {
  uri: "sip:MAC%3A001565aabbcc@224.0.1.75",
  headers: [
    { name: "From", value: "<sip:MAC%3A001565aabbcc@224.0.1.75>;tag=1" },
    { name: "To", value: "<sip:MAC%3A001565aabbcc@224.0.1.75>" },
    {
      name: "Event",
      value: 'ua-profile;profile-type="device";vendor="Yealink";model="SIP-T46S";version="66.86.0.15"',
    },
    { name: "Accept", value: "application/url" },
    { name: "Expires", value: "0" },
  ],
};

Deno.test("ua-profile Event header parameters are parsed, quoted or not", () => {
  const e = parseUaProfileEvent(
    'ua-profile;profile-type="device";vendor=Yealink;model="SIP-T46S";version=1.2',
  );
  assertEquals(e?.profileType, "device");
  assertEquals(e?.vendor, "Yealink");
  assertEquals(e?.model, "SIP-T46S");
  assertEquals(e?.version, "1.2");
  assertEquals(parseUaProfileEvent("presence"), null);
  assertEquals(parseUaProfileEvent(";;;"), null);
});

Deno.test("MAC is extracted from MAC%3A user parts in several spellings", () => {
  assertEquals(extractMac("sip:MAC%3A001565aabbcc@224.0.1.75"), "001565aabbcc");
  assertEquals(extractMac("<sip:MAC%3a00-15-65-AA-BB-CC@x>"), "001565aabbcc");
  assertEquals(extractMac("sip:MAC:00:04:f2:aa:bb:cc@x"), "0004f2aabbcc");
  assertEquals(extractMac("sip:alice@x"), null);
  assertEquals(extractMac("sip:MAC%3A0015@x"), null);
  assertEquals(extractMac("%E0%A4%A"), null, "bad escapes do not throw");
});

Deno.test("a Yealink PnP SUBSCRIBE gets an application/url NOTIFY body with the box URL", () => {
  const a = answerPnpSubscribe(yealinkSubscribe, { httpBase: "http://192.0.2.10:8080" });
  assert(a);
  assertEquals(a.mac, "001565aabbcc");
  assertEquals(a.vendor, "yealink");
  assertEquals(a.contentType, "application/url");
  assertEquals(new TextDecoder().decode(a.body), "http://192.0.2.10:8080/prov/");
});

Deno.test("Grandstream and Cisco get their per-MAC file URL; other events are not answered", () => {
  const gs = answerPnpSubscribe({
    uri: "sip:MAC%3Ac074ad000001@224.0.1.75",
    headers: [{
      name: "event",
      value: 'ua-profile;profile-type="device";vendor="Grandstream";model="GXP2170"',
    }],
  }, { httpBase: "http://box/" });
  assertEquals(gs?.url, "http://box/prov/cfgc074ad000001.xml");
  const cisco = answerPnpSubscribe({
    uri: "sip:224.0.1.75",
    headers: [
      { name: "From", value: "<sip:MAC%3Ac0ffee000001@224.0.1.75>" },
      { name: "Event", value: "ua-profile;profile-type=device;vendor=Cisco" },
    ],
  }, { httpBase: "http://box" });
  assertEquals(cisco?.url, "http://box/prov/spac0ffee000001.xml");
  assertEquals(
    answerPnpSubscribe({ uri: "sip:x", headers: [{ name: "Event", value: "presence" }] }, {
      httpBase: "http://b",
    }),
    null,
  );
  assertEquals(
    answerPnpSubscribe({
      uri: "sip:x",
      headers: [{ name: "Event", value: 'ua-profile;profile-type="user"' }],
    }, { httpBase: "http://b" }),
    null,
  );
  assertEquals(answerPnpSubscribe({ uri: "sip:x", headers: [] }, { httpBase: "http://b" }), null);
});
