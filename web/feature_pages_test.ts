/** Feature modules' pages: in the menu, rendered in the layout, their scripts served; clashes refused. */
import assert from "node:assert/strict";
import type { FeatureModule } from "../runtime/call/feature.ts";
import { createApp } from "./app.ts";
import { webFixture } from "./_test_fixture.ts";

const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const d of tempDirs) Deno.removeSync(d, { recursive: true });
});

/** A feature's script file on disk, as a feature ships it beside its module. */
function scriptFile(
  name: string,
  text = `import { say } from "/static/lib/messages.js";\nsay("hi");\n`,
): URL {
  const dir = Deno.makeTempDirSync({ prefix: "pbx-feature-page-" });
  tempDirs.push(dir);
  Deno.writeTextFileSync(`${dir}/${name}`, text);
  return new URL(`file://${dir}/${name}`);
}

const roomsScript = scriptFile("rooms.js");
const rooms: FeatureModule = {
  name: "rooms",
  web: {
    pages: [
      {
        path: "/rooms",
        title: "Rooms",
        script: roomsScript,
        render: ({ user, html, dataTable }) =>
          html`<p id="who">Rooms for ${user.username} <b>${"<i>"}</b></p>${
            dataTable("rooms-table", ["Room", "Members"])
          }`,
      },
      { path: "/my-rooms", title: "My rooms", admin: false },
    ],
  },
};

Deno.test("a feature's pages join the menu, render inside the layout and serve their script", async () => {
  using f = await webFixture({ deps: { features: [rooms] } });
  const s = await f.cookieLogin();
  const res = await f.req("/rooms", { session: s });
  assert.equal(res.status, 200);
  const page = await res.text();
  assert.match(page, /<p id="who">Rooms for admin <b>&#60;i&#62;<\/b><\/p>/, "interpolations are escaped");
  assert.match(page, /<table id="rooms-table"/);
  assert.match(page, /<th scope="col">Members<\/th>/);
  assert.match(page, /<script type="module" src="\/static\/features\/rooms\/rooms\.js"><\/script>/);
  assert.match(page, /href="\/rooms" aria-current="page">Rooms</);
  assert.match(page, /<body data-page="rooms-rooms">/);
  // Appended after the built-in pages, in declaration order.
  const nav = [...page.matchAll(/<li><a href="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(nav.slice(-3), ["/security", "/rooms", "/my-rooms"]);
  assert.doesNotMatch(page, /\sstyle=|<style|\son[a-z]+=/i);

  const js = await f.req("/static/features/rooms/rooms.js");
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
  assert.match(await js.text(), /say\("hi"\)/);
  for (const bad of ["/static/features/rooms/other.js", "/static/features/other/rooms.js"]) {
    const r = await f.req(bad);
    assert.equal(r.status, 404, bad);
    await r.body?.cancel();
  }

  const mine = await (await f.req("/my-rooms", { session: s })).text();
  assert.match(mine, /<div id="feature-page"><\/div>/, "no render: an empty root for the script");
  assert.doesNotMatch(mine, /static\/features/, "no script declared, none loaded");
});

Deno.test("a feature page is admin only unless it says admin: false", async () => {
  using f = await webFixture({ deps: { features: [rooms] } });
  await f.addUser("alice", "201");
  const s = await f.cookieLogin("alice", "user-password-1");
  const denied = await f.req("/rooms", { session: s });
  assert.equal(denied.status, 403);
  assert.match(await denied.text(), /needs the admin role/);
  const mine = await f.req("/my-rooms", { session: s });
  assert.equal(mine.status, 200);
  const page = await mine.text();
  assert.match(page, /href="\/my-rooms"/);
  assert.doesNotMatch(page, /href="\/rooms"/, "admin-only feature pages are not in a user's menu");
  const anon = await f.req("/my-rooms");
  assert.equal(anon.status, 302);
  assert.equal(anon.headers.get("location"), "/login");
});

Deno.test("a feature page on the voicemail stand-in's path replaces it in its menu place", async () => {
  const inbox: FeatureModule = {
    name: "voicemail",
    web: {
      pages: [{
        path: "/voicemail",
        title: "Voicemail",
        admin: false,
        script: scriptFile("inbox.js"),
        render: ({ html }) => html`<p>Your messages</p>`,
      }],
    },
  };
  using f = await webFixture({ deps: { features: [inbox] } });
  const s = await f.cookieLogin();
  const page = await (await f.req("/voicemail", { session: s })).text();
  assert.match(page, /Your messages/);
  assert.doesNotMatch(page, /not part of this build/);
  assert.match(page, /src="\/static\/features\/voicemail\/inbox\.js"/);
  const nav = [...page.matchAll(/<li><a href="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(nav.indexOf("/voicemail"), nav.indexOf("/cdr") + 1, "same place in the menu");
  assert.equal(nav.filter((p) => p === "/voicemail").length, 1);
});

Deno.test("clashing or malformed feature pages are refused when the app is built, naming both owners", () => {
  const app = (features: FeatureModule[]) => () =>
    createApp({
      storage: {} as never,
      live: { calls: () => [] },
      health: () => ({ ok: true, listeners: {} }),
      features,
    });
  const page = (name: string, path: string, extra: object = {}): FeatureModule => ({
    name,
    web: { pages: [{ path, title: name, ...extra }] },
  });
  assert.throws(
    app([page("x", "/extensions")]),
    /feature x: page \/extensions is already the built-in Extensions page/,
  );
  assert.throws(app([page("x", "/login")]), /already the \/login page/);
  assert.throws(
    app([page("x", "/rooms"), page("y", "/rooms")]),
    /feature y: page \/rooms is already feature x's page/,
  );
  assert.throws(app([page("x", "/api/rooms")]), /not a plain UI path/);
  assert.throws(app([page("x", "rooms")]), /not a plain UI path/);
  assert.throws(
    app([page("x", "/rooms", { script: scriptFile("Bad.Name.js") })]),
    /must be a local file named/,
  );
  assert.throws(
    app([page("x", "/rooms", { script: new URL("https://cdn.example/x.js") })]),
    /must be a local file/,
  );
  assert.throws(app([page("X Y", "/rooms", { script: scriptFile("ok.js") })]), /name is not/);
});
