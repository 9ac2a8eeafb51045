import assert from "node:assert/strict";
import { errorOf, webFixture } from "./_test_fixture.ts";
import { FEATURE_CODES_SETTING, numberPlan } from "./_numbers.ts";

const extension = (number: string, name = "Desk") => ({ number, name, password: "good-pass-123" });

Deno.test("an extension on a paging zone's number is refused with 409 naming both owners, and vice versa", async () => {
  using f = await webFixture();
  const token = await f.login();
  let res = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "71", name: "Hall" } });
  assert.equal(res.status, 201);
  await res.body?.cancel();
  res = await f.req("/api/extensions", { method: "POST", token, json: extension("71", "Reception") });
  assert.equal(res.status, 409);
  const msg = await errorOf(res);
  assert.match(msg, /extension 71 "Reception"/);
  assert.match(msg, /paging zone 71 "Hall"/);
  assert.equal(f.storage.extensions.get("71"), undefined, "nothing was created");

  res = await f.req("/api/extensions", { method: "POST", token, json: extension("201") });
  assert.equal(res.status, 201);
  await res.body?.cancel();
  res = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "201", name: "Yard" } });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /paging zone 201 "Yard" \(page 201\) collides with extension 201 "Desk"/);
  res = await f.req("/api/paging/groups", {
    method: "POST",
    token,
    json: { number: "201", name: "All", zones: ["71"] },
  });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /paging group 201 "All" .* collides with extension 201/);
  assert.equal(f.storage.paging.getGroup("201"), undefined);
});

Deno.test("a zone and a group on one number: 409 naming both", async () => {
  using f = await webFixture();
  const token = await f.login();
  let res = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "71", name: "Hall" } });
  await res.body?.cancel();
  res = await f.req("/api/paging/groups", {
    method: "POST",
    token,
    json: { number: "71", name: "All", zones: ["71"] },
  });
  assert.equal(res.status, 409);
  const msg = await errorOf(res);
  assert.match(msg, /paging group 71 "All"/);
  assert.match(msg, /paging zone 71 "Hall"/);
});

Deno.test("a zone whose emergency number (*NN) is a feature code is refused: *72 forward, *8020 intercom", async () => {
  using f = await webFixture();
  const token = await f.login();
  for (const [number, code] of [["72", "forward.on"], ["8", "pickup.group"], ["8020", "intercom"]] as const) {
    const res = await f.req("/api/paging/zones", { method: "POST", token, json: { number, name: "Z" } });
    assert.equal(res.status, 409, number);
    const msg = await errorOf(res);
    assert.match(msg, new RegExp(`emergency page \\*${number}`), msg);
    assert.match(msg, new RegExp(`feature code ${code.replace(".", "\\.")}`), msg);
  }
  const ok = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "802", name: "Z" } });
  assert.equal(ok.status, 201, "*802 is no intercom number (an extension has 2-8 digits)");
  await ok.body?.cancel();
});

Deno.test("stored feature-code overrides move the claim: *72 free, *76 taken", async () => {
  using f = await webFixture();
  const token = await f.login();
  f.storage.settings.set(FEATURE_CODES_SETTING, { "forward.on": "*76" });
  let res = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "72", name: "Yard" } });
  assert.equal(res.status, 201);
  await res.body?.cancel();
  res = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "76", name: "Dock" } });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /feature code forward\.on/);
  f.storage.settings.set(FEATURE_CODES_SETTING, { "voicemail.own": "500" });
  res = await f.req("/api/extensions", { method: "POST", token, json: extension("500") });
  assert.equal(res.status, 409, "a code moved onto digits takes that extension number");
  assert.match(await errorOf(res), /extension 500 "Desk" .* collides with feature code voicemail\.own/);
});

Deno.test("duplicate numbers of one kind keep the store's own 409; rows that already collide still build a plan", async () => {
  using f = await webFixture();
  const token = await f.login();
  let res = await f.req("/api/extensions", { method: "POST", token, json: extension("201") });
  await res.body?.cancel();
  res = await f.req("/api/extensions", { method: "POST", token, json: extension("201") });
  assert.equal(res.status, 409);
  await res.body?.cancel();
  // Rows stored before the check existed: the extension keeps the number.
  f.storage.paging.createZone({ number: "201", name: "Old" });
  assert.equal(numberPlan(f.storage).lookup("201")?.claim.owner.kind, "extension");
  assert.equal(numberPlan(f.storage).lookup("*201")?.claim.owner.kind, "paging-zone");
});
