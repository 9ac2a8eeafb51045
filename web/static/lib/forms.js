// Forms: submit through a function, report its result or error, keep the keyboard user's place.
import { h } from "./dom.js";
import { say, sayError } from "./messages.js";

/** Wire a form: on submit, run fn(values, form); a string result is shown, an error too. */
export function onSubmit(form, fn) {
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    const focused = document.activeElement;
    if (button) button.disabled = true;
    try {
      const values = Object.fromEntries(new FormData(form).entries());
      const msg = await fn(values, form);
      if (typeof msg === "string") say(msg, "ok");
    } catch (err) {
      sayError(err);
    } finally {
      if (button) button.disabled = false;
      // Disabling the focused button drops focus to <body>; keyboard users keep their place.
      if (
        (document.activeElement === document.body || document.activeElement === null) &&
        focused?.isConnected
      ) {
        focused.focus();
      }
    }
  });
}

/** Checkbox list in a fieldset (keeps its legend): items are [value, label]. */
export function fillChoices(fieldset, name, items, checked = new Set()) {
  if (!fieldset) return;
  const legend = fieldset.querySelector("legend");
  const boxes = items.map(([value, label]) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name, value, checked: checked.has(value) }),
      ` ${label}`,
    )
  );
  fieldset.replaceChildren(
    ...(legend ? [legend] : []),
    ...(boxes.length ? boxes : [h("span", { class: "note" }, "Nothing to choose yet.")]),
  );
}

/** The values of the checked boxes named `name` in a form. */
export const checkedValues = (form, name) => new FormData(form).getAll(name).map(String);

/** Tick exactly the boxes named `name` under root whose value is in `values` (a Set). */
export function setChecked(root, name, values) {
  for (const el of root.querySelectorAll(`input[name="${name}"]`)) el.checked = values.has(el.value);
}
