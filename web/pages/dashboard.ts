/** Dashboard: registered phones and calls (live over SSE), paging zones, system health (pages/dashboard.js fills it). */
import { html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";

/** / (admin). */
export const dashboardPage: PageDef = {
  id: "dashboard",
  path: "/",
  title: "Dashboard",
  admin: true,
  script: "/static/pages/dashboard.js",
  body: () =>
    html`
      <p class="live" id="live-status" role="status" aria-live="polite">Connecting to live updates…</p>
      <div class="grid">
        <section aria-labelledby="blf-h" class="card wide" id="blf-card" hidden>
          <h2 id="blf-h">Extensions</h2>
          <ul id="blf-board" class="blf-board" aria-live="polite"></ul>
        </section>
        <section aria-labelledby="regs-h" class="card wide">
          <h2 id="regs-h">Registered phones <span class="count" id="regs-count"></span></h2>
          ${dataTable("regs-table", ["Extension", "Address", "Phone", "Expires"])}
          <p class="empty" id="regs-empty">No phones registered.</p>
        </section>
        <section aria-labelledby="calls-h" class="card">
          <h2 id="calls-h">Calls in progress <span class="count" id="calls-count"></span></h2>
          ${dataTable("calls-table", ["From", "To", "State", "Since"])}
          <p class="empty" id="calls-empty">No calls right now.</p>
        </section>
        <section aria-labelledby="zones-h" class="card">
          <h2 id="zones-h">Paging zones</h2>
          <ul id="zones-list" class="plain"></ul>
          <p class="empty" id="zones-empty">No paging zones.</p>
        </section>
        <section aria-labelledby="health-h" class="card">
          <h2 id="health-h">System health</h2>
          <dl class="facts" id="health"></dl>
        </section>
      </div>
    `,
};
