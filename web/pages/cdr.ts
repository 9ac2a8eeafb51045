/** Call records page: filters, the table and the CSV download (pages/cdr.js fills it). */
import { type Html, html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";
import { DISPOSITIONS } from "../../runtime/storage/mod.ts";

function dispositionOptions(): Html[] {
  return DISPOSITIONS.map((d) => html`<option value="${d}">${d}</option>`);
}

/** /cdr (every signed-in user). */
export const cdrPage: PageDef = {
  id: "cdr",
  path: "/cdr",
  title: "Call records",
  admin: false,
  script: "/static/pages/cdr.js",
  body: () =>
    html`
      <form id="cdr-filter" class="filters">
        <div><label for="cdr-from">From date</label><input id="cdr-from" name="from" type="date"></div>
        <div><label for="cdr-to">To date</label><input id="cdr-to" name="to" type="date"></div>
        <div><label for="cdr-ext">Extension</label><input id="cdr-ext" name="extension" inputmode="numeric" pattern="[0-9]{2,8}"></div>
        <div><label for="cdr-disp">Result</label><select id="cdr-disp" name="disposition"><option value="">any</option>${dispositionOptions()}</select></div>
        <div
          class="buttons"><button type="submit">Filter</button> <a class="button secondary" id="cdr-csv" href="/api/cdr.csv" download>Download CSV</a></div>
      </form>
      <p id="cdr-total"></p>
      ${dataTable("cdr-table", ["Start", "From", "To", "Result", "Talk time"])}
      <p class="empty" id="cdr-empty" hidden>No call records match.</p>
    `,
};
