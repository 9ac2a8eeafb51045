// Tables: the server renders an empty <table> (dataTable in web/pages/_kit.ts); scripts fill rows.
import { $, h } from "./dom.js";

/** Replace a table's body rows; toggle its "empty" note (a selector, or null). */
export function fillTable(tableSel, emptySel, rows) {
  const tbody = $(`${tableSel} tbody`);
  if (!tbody) return;
  tbody.replaceChildren(...rows);
  const empty = emptySel ? $(emptySel) : null;
  if (empty) empty.hidden = rows.length > 0;
}

/**
 * A row: `cells` are values or elements; a cell given as {label, value} gets data-label (the
 * narrow-screen layout of `class="stack-sm"` tables), {actions: [...]} is the actions cell, and a
 * <td> element is taken as it is.
 */
export function row(attrs, cells) {
  return h(
    "tr",
    attrs,
    cells.map((c) => {
      if (c instanceof HTMLTableCellElement) return c;
      if (c !== null && typeof c === "object" && !(c instanceof Node) && !Array.isArray(c)) {
        if ("actions" in c) return h("td", { class: "actions" }, spaced(c.actions));
        return h("td", { "data-label": c.label, class: c.class }, c.value);
      }
      return h("td", {}, c);
    }),
  );
}

/** Buttons side by side with a space between (as in the markup the pages had). */
function spaced(items) {
  return items.filter((x) => x !== "" && x !== null && x !== undefined && x !== false)
    .flatMap((x, i) => (i === 0 ? [x] : [" ", x]));
}
