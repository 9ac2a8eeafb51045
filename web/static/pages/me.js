// My extension: the signed-in user's extension, registered phones, and web password change.
import { api } from "../lib/api.js";
import { $, dl } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { onSubmit } from "../lib/forms.js";
import { startPage } from "../lib/page.js";
import { fillTable, row } from "../lib/tables.js";

startPage(async () => {
  onSubmit($("#password-form"), async (v) => {
    await api("PUT", "/api/me/password", v);
    location.assign("/login");
  });
  const me = await api("GET", "/api/me");
  dl(
    $("#my-extension"),
    me.extension === null ? [["Extension", "none assigned"]] : [
      ["Number", me.extension.number],
      ["Name", me.extension.name],
      ["SIP domain", me.extension.realm],
      ["Web user", me.username],
    ],
  );
  fillTable(
    "#my-regs",
    "#my-regs-empty",
    me.registrations.map((r) =>
      row({}, [`${r.source.address}:${r.source.port}`, r.userAgent ?? "", time(r.expiresAt)])
    ),
  );
});
