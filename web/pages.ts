/**
 * The admin UI's routes: /setup, /login and every page of the registry (web/pages/mod.ts) plus the
 * pages feature modules declare (`FeatureModule.web.pages`). Each page is a server-rendered shell
 * its own ES module script fills from the REST API; no inline scripts or styles, so the strict CSP
 * holds. Pages authenticate by session cookie only; without one they redirect to /login (or /setup).
 */
import { type Context, Hono } from "hono";
import type { Storage } from "../runtime/storage/mod.ts";
import type { FeatureModule, FeaturePage } from "../runtime/call/feature.ts";
import { Html, html } from "./_html.ts";
import { csrfTokenFor, resolveAuth } from "./_session.ts";
import type { BoxInfo } from "./types.ts";
import { dataTable, layout, loginPage, type NavItem, type PageDef, PAGES, setupPage } from "./pages/mod.ts";

/** A feature's page script as served: URL path -> the file. */
export type FeatureScripts = ReadonlyMap<string, URL>;

const FEATURE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const SCRIPT_FILE = /^[a-z0-9_-]+\.js$/;

/** Where a feature's page script is served. */
function featureScriptPath(feature: string, script: URL): string {
  const file = script.pathname.slice(script.pathname.lastIndexOf("/") + 1);
  if (!FEATURE_NAME.test(feature)) {
    throw new TypeError(
      `feature ${JSON.stringify(feature)} has a page script but its name is not [a-z0-9_-]`,
    );
  }
  if (script.protocol !== "file:" || !SCRIPT_FILE.test(file)) {
    throw new TypeError(
      `feature ${feature}: page script ${script.href} must be a local file named [a-z0-9_-].js`,
    );
  }
  return `/static/features/${feature}/${file}`;
}

function featurePageDef(feature: string, p: FeaturePage, scripts: Map<string, URL>): PageDef {
  let script: string | undefined;
  if (p.script !== undefined) {
    script = featureScriptPath(feature, p.script);
    const other = scripts.get(script);
    if (other !== undefined && other.href !== p.script.href) {
      throw new TypeError(`feature ${feature}: two page scripts are both served as ${script}`);
    }
    scripts.set(script, p.script);
  }
  const id = `${feature}${p.path.replaceAll("/", "-")}`.replace(/-+$/, "");
  return {
    id,
    path: p.path,
    title: p.title,
    admin: p.admin ?? true,
    ...(script === undefined ? {} : { script }),
    body: ({ user }) =>
      p.render === undefined
        ? html`<div id="feature-page"></div>`
        : new Html(p.render({ user, html, dataTable }).value),
  };
}

/**
 * The built-in pages with the features' pages: a feature page on a stand-in's path replaces it
 * (keeping its place in the menu), others go at the end of the menu. Two pages on one path, or a
 * feature page on a built-in page's path, /setup or /login, is a TypeError naming both.
 */
export function resolvePages(
  features: readonly FeatureModule[],
): { pages: PageDef[]; scripts: FeatureScripts } {
  const scripts = new Map<string, URL>();
  const pages = [...PAGES];
  const owner = new Map<string, string>(pages.map((p) => [p.path, `the built-in ${p.title} page`]));
  for (const reserved of [setupPage.path, loginPage.path]) owner.set(reserved, `the ${reserved} page`);
  for (const f of features) {
    for (const fp of f.web?.pages ?? []) {
      if (!/^\/[a-z0-9/_-]*$/.test(fp.path) || fp.path.startsWith("/api") || fp.path.startsWith("/static")) {
        throw new TypeError(`feature ${f.name}: page path ${JSON.stringify(fp.path)} is not a plain UI path`);
      }
      const def = featurePageDef(f.name, fp, scripts);
      const i = pages.findIndex((p) => p.path === fp.path);
      if (i >= 0 && pages[i]!.placeholder === true) {
        pages[i] = def;
      } else if (owner.has(fp.path)) {
        throw new TypeError(`feature ${f.name}: page ${fp.path} is already ${owner.get(fp.path)}`);
      } else {
        pages.push(def);
      }
      owner.set(fp.path, `feature ${f.name}'s page`);
    }
  }
  return { pages, scripts };
}

function page(c: Context, status: 200 | 403, markup: Html): Response {
  return c.html(markup.value, status, { "Cache-Control": "no-store" });
}

/** The UI routes: /setup, /login and the pages (built-in and the features'). */
export function pageRoutes(
  options: { storage: Storage; boxInfo: () => BoxInfo; pages?: readonly PageDef[] },
): Hono {
  const { storage } = options;
  const pages = options.pages ?? PAGES;
  const nav: NavItem[] = pages.map((p) => ({
    href: p.path,
    label: p.title,
    admin: p.admin,
    needsExtension: p.needsExtension,
  }));
  const app = new Hono();

  app.get(setupPage.path, (c) => {
    if (storage.users.hasAdmin()) return c.redirect("/login", 302);
    const { id, path, title, script } = setupPage;
    return page(c, 200, layout({ title, page: id, path, nav, script }, setupPage.body(options.boxInfo())));
  });

  app.get(loginPage.path, (c) => {
    if (!storage.users.hasAdmin()) return c.redirect("/setup", 302);
    const r = resolveAuth(c, storage, { allowBearer: false });
    if (r.ok) return c.redirect(r.user.role === "admin" ? "/" : "/me", 302);
    const { id, path, title, script } = loginPage;
    return page(c, 200, layout({ title, page: id, path, nav, script }, loginPage.body()));
  });

  for (const def of pages) {
    const path = def.path;
    app.get(path, (c) => {
      if (!storage.users.hasAdmin()) return c.redirect("/setup", 302);
      const r = resolveAuth(c, storage, { allowBearer: false });
      if (!r.ok) return c.redirect("/login", 302);
      const user = r.user;
      const csrf = csrfTokenFor(r.token);
      if (def.admin && user.role !== "admin") {
        if (path === "/") return c.redirect("/me", 302);
        return page(
          c,
          403,
          layout(
            { title: "Not allowed", page: "denied", path, nav, user, csrf },
            html`<p>This page needs the admin role. <a href="/me">Go to your extension</a>.</p>`,
          ),
        );
      }
      return page(
        c,
        200,
        layout(
          { title: def.title, page: def.id, path, nav, script: def.script, user, csrf },
          def.body({ box: options.boxInfo(), user }),
        ),
      );
    });
  }
  return app;
}

/** Paths of the built-in UI pages (for tests and the docs). */
export const PAGE_PATHS: readonly string[] = [setupPage.path, loginPage.path, ...PAGES.map((p) => p.path)];
