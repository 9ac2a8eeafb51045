// Ring groups page: list, add/change (strategy, members, ring time, final destination), delete.
import { api } from "/static/lib/api.js";
import { $ } from "/static/lib/dom.js";
import { list } from "/static/lib/format.js";
import { onSubmit } from "/static/lib/forms.js";
import { deleteButton, editButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

const enc = encodeURIComponent;
const LABEL = { ringAll: "ring all", hunt: "hunt", memoryHunt: "memory hunt" };

startPage(async () => {
  const load = async () => {
    const { items } = await api("GET", "/api/ringgroups");
    fillTable(
      "#rg-table",
      "#rg-empty",
      items.map((g) =>
        row({ "data-number": g.number }, [
          { label: "Number", value: g.number },
          { label: "Name", value: g.name },
          { label: "Strategy", value: LABEL[g.strategy] ?? g.strategy },
          { label: "Members", value: g.members.map((m) => m.number).join(", ") },
          { label: "Ring s", value: g.ringSeconds === null ? "default" : String(g.ringSeconds) },
          { label: "Then", value: g.finalDestination ?? "—" },
          {
            actions: [
              editButton(`Edit ring group ${g.number}`, () => {
                $("#rg-number").value = g.number;
                $("#rg-name").value = g.name;
                $("#rg-strategy").value = g.strategy;
                $("#rg-members").value = g.members.map((m) => m.number).join(", ");
                $("#rg-seconds").value = g.ringSeconds ?? "";
                $("#rg-final").value = g.finalDestination ?? "";
                $("#rg-members").focus();
              }),
              deleteButton(
                `Delete ring group ${g.number}`,
                `Delete ring group ${g.number}?`,
                () => api("DELETE", `/api/ringgroups/${enc(g.number)}`),
                load,
                "Ring group deleted.",
              ),
            ],
          },
        ])
      ),
    );
  };
  onSubmit($("#rg-form"), async (v) => {
    const number = v.number.trim();
    await api("PUT", `/api/ringgroups/${enc(number)}`, {
      name: v.name,
      strategy: v.strategy,
      members: list(v.members),
      ringSeconds: v.ringSeconds === "" ? null : Number(v.ringSeconds),
      finalDestination: v.finalDestination.trim() || null,
    });
    await load();
    return `Ring group ${number} saved.`;
  });
  await load();
});
