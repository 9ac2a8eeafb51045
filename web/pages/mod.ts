/**
 * The admin UI's pages: one module per page (server part here, browser script in
 * web/static/pages/), and THE list of them. Adding a page = its two files plus one line in
 * `PAGES` (menu order). Features add pages through `FeatureModule.web.pages` instead (pages.ts).
 * See docs/web.md, "Adding a page".
 */
import type { PageDef } from "./_kit.ts";
import { dashboardPage } from "./dashboard.ts";
import { mePage } from "./me.ts";
import { phonePage } from "./phone.ts";
import { extensionsPage } from "./extensions.ts";
import { phonesPage } from "./phones.ts";
import { pagingPage } from "./paging.ts";
import { cdrPage } from "./cdr.ts";
import { voicemailPage } from "./voicemail.ts";
import { promptsPage } from "./prompts.ts";
import { usersPage } from "./users.ts";
import { systemPage } from "./system.ts";
import { auditPage } from "./audit.ts";
import { securityPage } from "./security.ts";

export { dataTable, layout, type NavItem, type PageContext, type PageDef, pwHint } from "./_kit.ts";
export { setupPage } from "./setup.ts";
export { loginPage } from "./login.ts";

/** The built-in pages, in menu order. */
export const PAGES: readonly PageDef[] = [
  dashboardPage,
  mePage,
  phonePage,
  extensionsPage,
  phonesPage,
  pagingPage,
  cdrPage,
  voicemailPage,
  promptsPage,
  usersPage,
  systemPage,
  auditPage,
  securityPage,
];
