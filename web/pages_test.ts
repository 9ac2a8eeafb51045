import assert from "node:assert/strict";
import { escapeHtml, html } from "./_html.ts";
import { csrfTokenFor } from "./_session.ts";
import { webFixture } from "./_test_fixture.ts";

const ADMIN_PAGES = ["/", "/extensions", "/phones", "/paging", "/users", "/system", "/audit"];
const USER_PAGES = ["/me", "/cdr", "/voicemail"];

/** Markup that the strict CSP would block or that hides scripts: inline scripts, styles, handlers. */
function assertNoInlineCode(page: string, path: string) {
  for (const m of page.matchAll(/<script\b([^>]*)>/g)) {
    assert.match(
      m[1]!,
      /\ssrc="\/static\/([a-z0-9_-]+\/)*[a-z0-9_-]+\.js"/,
      `${path}: inline <script> without src`,
    );
  }
  assert.doesNotMatch(page, /<style\b/i, `${path}: <style> element`);
  assert.doesNotMatch(page, /\sstyle=/i, `${path}: style attribute`);
  assert.doesNotMatch(page, /\son[a-z]+=/i, `${path}: inline event handler`);
  assert.doesNotMatch(page, /https?:\/\//, `${path}: external URL (all assets come from the box)`);
}

Deno.test("first boot: every page redirects to /setup, which shows the box addresses and what to plug where", async () => {
  using f = await webFixture({ setup: false });
  for (const path of ["/", "/login", "/extensions", "/me"]) {
    const res = await f.req(path);
    assert.equal(res.status, 302, path);
    assert.equal(res.headers.get("location"), "/setup");
  }
  const res = await f.req("/setup");
  assert.equal(res.status, 200);
  const page = await res.text();
  assert.match(page, /no default password/);
  assert.match(page, /192\.0\.2\.10/);
  assert.match(page, /port 5060/);
  assert.match(page, /What to plug where/);
  assertNoInlineCode(page.replace(/<code>http:\/\/192\.0\.2\.10:8080\/<\/code>/, ""), "/setup");
});

Deno.test("after setup /setup redirects to /login; pages without a session redirect to /login", async () => {
  using f = await webFixture();
  let res = await f.req("/setup");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "/login");
  for (const path of [...ADMIN_PAGES, ...USER_PAGES]) {
    res = await f.req(path);
    assert.equal(res.status, 302, path);
    assert.equal(res.headers.get("location"), "/login");
  }
  res = await f.req("/", { headers: { cookie: "pbx_session=" + "C".repeat(43) } });
  assert.equal(res.status, 302, "a forged cookie is no session");
  const token = await f.login();
  res = await f.req("/", { token });
  assert.equal(res.status, 302, "pages take the cookie only, not a bearer token");
  res = await f.req("/login");
  assert.equal(res.status, 200);
  assertNoInlineCode(await res.text(), "/login");
});

Deno.test("an admin session gets every page with nav, skip link, CSRF meta and no inline code", async () => {
  using f = await webFixture();
  const s = await f.cookieLogin();
  for (const path of [...ADMIN_PAGES, ...USER_PAGES]) {
    const res = await f.req(path, { session: s });
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const page = await res.text();
    assert.match(page, /<html lang="en">/);
    assert.match(page, /<a class="skip-link" href="#main">/);
    assert.match(page, /<main id="main"/);
    assert.match(page, /name="viewport"/);
    assert.ok(page.includes(`<meta name="csrf-token" content="${s.csrf}">`), path);
    // (/me is not in an admin's menu unless the admin has an extension.)
    if (path !== "/me") assert.match(page, new RegExp(`href="${path}" aria-current="page"`));
    assertNoInlineCode(page, path);
    // Every form control has a label.
    for (const m of page.matchAll(/<(input|select)\b[^>]*\bid="([^"]+)"[^>]*>/g)) {
      if (/type="hidden"/.test(m[0])) continue;
      assert.ok(page.includes(`for="${m[2]}"`), `${path}: #${m[2]} has no label`);
    }
  }
  const res = await f.req("/login", { session: s });
  assert.equal(res.status, 302, "logged in: /login goes to the dashboard");
  assert.equal(res.headers.get("location"), "/");
});

Deno.test("a user session gets its own pages; admin pages answer 403 and / goes to /me", async () => {
  using f = await webFixture();
  await f.addUser("alice", "201");
  const s = await f.cookieLogin("alice", "user-password-1");
  for (const path of USER_PAGES) {
    const res = await f.req(path, { session: s });
    assert.equal(res.status, 200, path);
    const page = await res.text();
    assert.doesNotMatch(page, /href="\/extensions"/, "admin links are not shown to users");
  }
  let res = await f.req("/", { session: s });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "/me");
  for (const path of ADMIN_PAGES.slice(1)) {
    res = await f.req(path, { session: s });
    assert.equal(res.status, 403, path);
    assert.match(await res.text(), /needs the admin role/);
  }
});

Deno.test("the voicemail page says voicemail is not available rather than showing fake data", async () => {
  using f = await webFixture();
  const s = await f.cookieLogin();
  const page = await (await f.req("/voicemail", { session: s })).text();
  assert.match(page, /Voicemail is not part of this build yet/);
  const system = await (await f.req("/system", { session: s })).text();
  assert.match(system, /<form id="fw-form"/, "the firmware card has its upload form");
  assert.match(system, /<div id="fw-restart"><\/div>/);
});

/** Every .js file under web/static/ (shell, lib/, pages/), as served paths. */
function staticScripts(): string[] {
  const out: string[] = [];
  const walk = (dir: URL, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir), `${rel}${e.name}/`);
      else if (e.name.endsWith(".js")) out.push(`/static/${rel}${e.name}`);
    }
  };
  walk(new URL("./static/", import.meta.url), "");
  return out.sort();
}

Deno.test("static JS and CSS are served from the box with their types; other names are 404", async () => {
  using f = await webFixture();
  const scripts = staticScripts();
  assert.ok(scripts.includes("/static/app.js") && scripts.includes("/static/lib/api.js"), scripts.join());
  for (const path of scripts) {
    const res = await f.req(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
    const js = await res.text();
    assert.doesNotMatch(
      js,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
      `${path}: text goes in via textContent only`,
    );
    if (path === "/static/lib/api.js") assert.match(js, /x-csrf-token/);
  }
  let res = await f.req("/static/style.css");
  assert.match(res.headers.get("content-type") ?? "", /^text\/css/);
  await res.body?.cancel();
  for (
    const bad of [
      "/static/secret.key",
      "/static/..%2Fapp.ts",
      "/static/pbx.sqlite",
      "/static/lib/../../app.ts",
      "/static/lib/%2e%2e/%2e%2e/app.ts",
      "/static/pages/missing.js",
      "/static/lib",
      "/static/features/rooms/rooms.js",
      "/static/.hidden.js",
    ]
  ) {
    res = await f.req(bad);
    assert.equal(res.status, 404, bad);
    await res.body?.cancel();
  }
});

Deno.test("every built-in page loads the shell and its own script, and each script file exists", async () => {
  using f = await webFixture();
  const s = await f.cookieLogin();
  const served = new Set(staticScripts());
  for (const path of [...ADMIN_PAGES, ...USER_PAGES, "/security"]) {
    const page = await (await f.req(path, { session: s })).text();
    const srcs = [...page.matchAll(/<script type="module" src="([^"]+)"><\/script>/g)].map((m) => m[1]!);
    assert.equal(srcs[0], "/static/app.js", path);
    for (const src of srcs) assert.ok(served.has(src), `${path}: ${src} is not a file in web/static`);
    if (path !== "/voicemail") assert.equal(srcs.length, 2, `${path}: ${srcs.join(", ")}`);
  }
});

Deno.test("html escapes interpolated text, composes nested markup and arrays", () => {
  const evil = `<script>alert("x")</script>`;
  assert.equal(html`<p>${evil}</p>`.value, `<p>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</p>`);
  assert.equal(
    html`<ul>${["a", "<b>"].map((x) => html`<li>${x}</li>`)}</ul>`.value,
    "<ul><li>a</li><li>&#60;b&#62;</li></ul>",
  );
  assert.equal(escapeHtml(`'"&`), "&#39;&#34;&#38;");
  assert.equal(html`${undefined}${null}${false}${0}`.value, "0");
});

Deno.test("the CSRF meta token on a page is the session's token", async () => {
  using f = await webFixture();
  const s = await f.cookieLogin();
  const page = await (await f.req("/extensions", { session: s })).text();
  const meta = /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1];
  assert.equal(meta, csrfTokenFor(s.cookie.slice("pbx_session=".length)));
});
