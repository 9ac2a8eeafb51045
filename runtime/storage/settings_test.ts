import assert from "node:assert/strict";
import { VirtualClock } from "../clock/mod.ts";
import { assertThrows, tempStorage } from "./_testing.ts";

Deno.test("settings store JSON values by key and reject bad keys", () => {
  const s = tempStorage();
  try {
    assert.equal(s.settings.get("sip.realm"), undefined);
    s.settings.set("sip.realm", "pbx.local");
    s.settings.set("net", { dhcp: false, ip: "10.0.0.2" });
    s.settings.set("sip.realm", "other");
    assert.equal(s.settings.get<string>("sip.realm"), "other");
    assert.deepEqual(s.settings.all(), { net: { dhcp: false, ip: "10.0.0.2" }, "sip.realm": "other" });
    assert.equal(s.settings.delete("net"), true);
    assertThrows(() => s.settings.set("bad key", 1), RangeError, "setting key");
    assertThrows(() => s.settings.set("k", undefined), TypeError, "JSON");
  } finally {
    s.dispose();
  }
});

Deno.test("audit entries are appended with time, actor, detail and source IP, newest first", () => {
  const clock = new VirtualClock();
  const s = tempStorage({ clock });
  try {
    s.audit.record({ actor: "admin", action: "login", sourceIp: "192.0.2.1" });
    clock.advance(10);
    s.audit.record({ actor: "admin", action: "extension.create", detail: { number: "201" } });
    const all = s.audit.list();
    assert.deepEqual(all.map((e) => e.action), ["extension.create", "login"]);
    assert.deepEqual(all[0]!.detail, { number: "201" });
    assert.equal(all[1]!.sourceIp, "192.0.2.1");
    assert.equal(all[0]!.at, clock.wallNow());
    assert.deepEqual(s.audit.list({ action: "login" }).length, 1);
  } finally {
    s.dispose();
  }
});
