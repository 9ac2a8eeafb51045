import assert from "node:assert/strict";
import { VirtualClock } from "../runtime/clock/mod.ts";
import { nullLogger } from "../runtime/log/mod.ts";
import { createResponse, getHeader, type SipRequest, type SipResponse } from "../runtime/sip/mod.ts";
import { tempStorage } from "../runtime/storage/_testing.ts";
import { startEvents, uaProfilePackage } from "./_events.ts";
import { FetchGuard } from "../provisioning/mod.ts";

function pnpSubscribe(event: string, mac = "805ec0123456"): SipRequest {
  return {
    type: "request",
    method: "SUBSCRIBE",
    uri: `sip:MAC%3A${mac}@224.0.1.75`,
    headers: [
      { name: "Via", value: "SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-1" },
      { name: "From", value: `<sip:MAC%3A${mac}@224.0.1.75>;tag=abc` },
      { name: "To", value: `<sip:MAC%3A${mac}@224.0.1.75>` },
      { name: "Call-ID", value: `pnp-${event.length}` },
      { name: "CSeq", value: "1 SUBSCRIBE" },
      { name: "Contact", value: "<sip:192.0.2.50:5060>" },
      { name: "Event", value: event },
      { name: "User-Agent", value: "Yealink SIP-T46S 66.86.0.15" },
    ],
    body: new Uint8Array(),
  };
}

Deno.test("ua-profile on the events core: no credentials, 200 Expires 0, one NOTIFY with the URL; 489 for other profile types", () => {
  const storage = tempStorage();
  const clock = new VirtualClock();
  const sent: SipRequest[] = [];
  const events = startEvents({
    transactions: {
      sendRequest: (req, _t, h) => {
        sent.push(req);
        h.onResponse(createResponse(req, 200));
      },
    },
    authorizer: { authorize: () => assert.fail("ua-profile must not ask for credentials") },
    clock,
    log: nullLogger,
    storage,
    publicAddress: "192.0.2.10",
    sipPort: 5060,
  });
  try {
    events.core.register(uaProfilePackage({
      httpBase: () => "http://192.0.2.10:8080",
      storage,
      clock,
      log: nullLogger,
    }));
    const source = { transport: "udp" as const, address: "192.0.2.50", port: 5060 };
    let res: SipResponse | undefined;
    const tx = { respond: (r: SipResponse) => void (res = r) };
    assert.ok(events.hook(pnpSubscribe('ua-profile;profile-type="user"'), tx, source));
    assert.equal(res?.status, 489);
    assert.equal(getHeader(res!, "Allow-Events"), "ua-profile");
    assert.ok(
      events.hook(pnpSubscribe('ua-profile;profile-type="device";vendor="Yealink";model="T46S"'), tx, source),
    );
    assert.equal(res?.status, 200);
    assert.equal(getHeader(res!, "Expires"), "0");
    assert.equal(sent.length, 1);
    assert.equal(getHeader(sent[0]!, "Subscription-State"), "terminated;reason=timeout");
    assert.equal(getHeader(sent[0]!, "Content-Type"), "application/url");
    assert.equal(new TextDecoder().decode(sent[0]!.body), "http://192.0.2.10:8080/prov/");
    assert.equal(storage.devices.get("805ec0123456")?.status, "discovered");
    assert.equal(events.core.subscriptions().length, 0);
  } finally {
    events.close();
    storage.dispose();
  }
});

Deno.test("unauthenticated ua-profile SUBSCRIBEs cannot grow the device table without bound; a guessing source is refused", () => {
  const storage = tempStorage();
  // The device table expires discovered rows by the storage's own (real) clock.
  const clock = new VirtualClock({ wallStart: Date.now() });
  const events = startEvents({
    transactions: { sendRequest: (req, _t, h) => h.onResponse(createResponse(req, 200)) },
    authorizer: { authorize: () => assert.fail("ua-profile must not ask for credentials") },
    clock,
    log: nullLogger,
    storage,
    publicAddress: "192.0.2.10",
    sipPort: 5060,
    limits: { perSource: 10_000, total: 10_000 },
  });
  const guard = new FetchGuard({ now: () => clock.wallNow() });
  try {
    events.core.register(uaProfilePackage({
      httpBase: () => "http://192.0.2.10:8080",
      storage,
      clock,
      log: nullLogger,
      guard,
    }));
    const statuses: number[] = [];
    const tx = { respond: (r: SipResponse) => void statuses.push(r.status) };
    const event = 'ua-profile;profile-type="device";vendor="Yealink";model="T46S"';
    // 700 phones from 700 addresses (a spoofing flood): the table keeps at most the cap.
    for (let i = 0; i < 700; i++) {
      const mac = `805ec1${i.toString(16).padStart(6, "0")}`;
      const req = pnpSubscribe(event, mac);
      req.headers.find((h) => h.name === "Call-ID")!.value = `flood-${i}`;
      events.hook(req, tx, { transport: "udp", address: `10.1.${i >> 8}.${i & 255}`, port: 5060 });
    }
    const counts = statuses.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<number, number>());
    assert.ok(
      storage.devices.count("discovered") <= 500,
      `${storage.devices.count("discovered")} discovered`,
    );
    assert.ok(
      storage.devices.count("discovered") >= 400,
      `${storage.devices.count("discovered")} discovered ${[...counts]}`,
    );
    // One source subscribing for many MACs it guesses is blocked after the guard's limit.
    statuses.length = 0;
    const one = { transport: "udp" as const, address: "192.0.2.99", port: 5060 };
    for (let i = 0; i < 30; i++) {
      const req = pnpSubscribe(event, `805ec2${i.toString(16).padStart(6, "0")}`);
      req.headers.find((h) => h.name === "Call-ID")!.value = `guess-${i}`;
      events.hook(req, tx, one);
    }
    assert.equal(statuses.filter((x) => x === 200).length, guard.maxMisses + 1);
    assert.equal(statuses.at(-1), 403);
    assert.deepEqual(guard.blocks().map((b) => b.address), ["192.0.2.99"]);
  } finally {
    events.close();
    storage.dispose();
  }
});
