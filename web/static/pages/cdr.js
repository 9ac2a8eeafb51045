// Call records: filter by date, extension and result; the CSV link follows the filters.
import { api } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { duration, time } from "../lib/format.js";
import { onSubmit } from "../lib/forms.js";
import { startPage } from "../lib/page.js";
import { fillTable, row } from "../lib/tables.js";

startPage(() => {
  const form = $("#cdr-filter");
  const queryOf = () => {
    const v = Object.fromEntries(new FormData(form).entries());
    const q = new URLSearchParams();
    if (v.from) q.set("from", new Date(`${v.from}T00:00:00`).toISOString());
    if (v.to) q.set("to", new Date(`${v.to}T23:59:59.999`).toISOString());
    if (v.extension) q.set("extension", v.extension);
    if (v.disposition) q.set("disposition", v.disposition);
    return q;
  };
  const load = async () => {
    const q = queryOf();
    $("#cdr-csv").setAttribute("href", `/api/cdr.csv?${q}`);
    q.set("limit", "500");
    const data = await api("GET", `/api/cdr?${q}`);
    $("#cdr-total").textContent = `${data.total} record${data.total === 1 ? "" : "s"}${
      data.total > data.items.length ? `, showing the newest ${data.items.length}` : ""
    }.`;
    fillTable(
      "#cdr-table",
      "#cdr-empty",
      data.items.map((r) =>
        row({}, [
          time(r.startedAt),
          r.caller,
          r.callee,
          r.disposition,
          r.billsecMs ? duration(r.billsecMs) : "",
        ])
      ),
    );
  };
  onSubmit(form, load);
  return load();
});
