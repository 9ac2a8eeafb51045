import assert from "node:assert/strict";
import { errorOf, webFixture } from "./_test_fixture.ts";

type Code = { name: string; pattern: string; default: string };

Deno.test("the feature-code table lists the defaults; an edit claims the new number and frees the old one", async () => {
  using f = await webFixture();
  const token = await f.login();
  let res = await f.req("/api/feature-codes", { token });
  const codes = ((await res.json()) as { items: Code[] }).items;
  assert.deepEqual(
    codes.map((c) => c.pattern),
    [
      "*72",
      "_*72X.",
      "*73",
      "_*90X.",
      "*91",
      "_*52X.",
      "*53",
      "*78",
      "*79",
      "*8",
      "_**XX!",
      "*85",
      "_*80XX!",
      "*97",
      "*98",
      "_*28X!",
    ],
  );
  res = await f.req("/api/feature-codes/dnd.on", { method: "PUT", token, json: { pattern: "*76" } });
  assert.equal(res.status, 200);
  const after = ((await res.json()) as { items: Code[] }).items.find((c) => c.name === "dnd.on")!;
  assert.deepEqual([after.pattern, after.default], ["*76", "*78"]);
  assert.ok(f.storage.audit.list().some((e) => e.action === "feature-code.update"));
  res = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "78", name: "Free now" } });
  assert.equal(res.status, 201, "*78 is no longer a feature code");
  await res.body?.cancel();
  res = await f.req("/api/paging/zones", { method: "POST", token, json: { number: "76", name: "Taken" } });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /feature code dnd\.on/);
  // Back to the default: *78 is a zone's emergency number now, so the reset is refused.
  res = await f.req("/api/feature-codes/dnd.on", { method: "DELETE", token });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /feature code dnd\.on .*\*78.* collides with paging zone 78 "Free now"/);
});

Deno.test("feature-code edits: taken by another code or an extension 409, malformed 400, unknown name 404", async () => {
  using f = await webFixture();
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "Desk", password: "good-pass-123" }, "pbx");
  let res = await f.req("/api/feature-codes/forward.on", { method: "PUT", token, json: { pattern: "*78" } });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /feature code forward\.on .* collides with feature code dnd\.on/);
  res = await f.req("/api/feature-codes/dnd.off", { method: "PUT", token, json: { pattern: "*72" } });
  assert.equal(res.status, 409, "a later code on an earlier one's number");
  assert.match(await errorOf(res), /collides with feature code forward\.on/);
  res = await f.req("/api/feature-codes/pickup.group", { method: "PUT", token, json: { pattern: "201" } });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /collides with extension 201 "Desk"/);
  res = await f.req("/api/feature-codes/pickup.group", { method: "PUT", token, json: { pattern: "_*7[" } });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /unclosed "\["/);
  res = await f.req("/api/feature-codes/no.such", { method: "PUT", token, json: { pattern: "*1" } });
  assert.equal(res.status, 404);
  await res.body?.cancel();
  res = await f.req("/api/feature-codes", { token });
  const codes = ((await res.json()) as { items: Code[] }).items;
  assert.equal(codes.find((c) => c.name === "forward.on")?.pattern, "*72", "refused edits store nothing");
});

Deno.test("GET /api/numbers lists every claim with its owner and the collisions of old rows", async () => {
  using f = await webFixture();
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "Desk", password: "good-pass-123" }, "pbx");
  f.storage.paging.createZone({ number: "201", name: "Old" }); // made before the check existed
  const res = await f.req("/api/numbers", { token });
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    items: { pattern: string; owner: { kind: string; id: string } }[];
    collisions: string[];
  };
  assert.deepEqual(body.items.slice(0, 2).map((i) => [i.pattern, i.owner.kind]), [
    ["201", "extension"],
    ["*201", "paging-zone"],
  ]);
  assert.equal(body.collisions.length, 1);
  assert.match(body.collisions[0]!, /paging zone 201 "Old" .* collides with extension 201 "Desk"/);
});

Deno.test("a user (not admin) gets 403 from the number plan routes", async () => {
  using f = await webFixture();
  await f.addUser("bob", "202");
  const token = await f.login("bob", "user-password-1");
  for (const path of ["/api/numbers", "/api/feature-codes"]) {
    const res = await f.req(path, { token });
    assert.equal(res.status, 403, path);
    await res.body?.cancel();
  }
});
