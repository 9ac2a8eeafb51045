/** Audit log page (pages/audit.js fills it). */
import { html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";

/** /audit (admin). */
export const auditPage: PageDef = {
  id: "audit",
  path: "/audit",
  title: "Audit log",
  admin: true,
  script: "/static/pages/audit.js",
  body: () =>
    html`
      ${dataTable("audit-table", ["When", "Who", "Action", "Detail", "From"])}
    `,
};
