// Audit log: the newest 200 entries.
import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { startPage } from "../lib/page.js";
import { fillTable, row } from "../lib/tables.js";

startPage(async () => {
  const data = await api("GET", "/api/audit?limit=200");
  fillTable(
    "#audit-table",
    null,
    data.items.map((a) =>
      row({}, [
        time(a.at),
        a.actor,
        a.action,
        a.detail === null ? "" : h("code", {}, JSON.stringify(a.detail)),
        a.sourceIp ?? "",
      ])
    ),
  );
});
