// DOM helpers for the page scripts. All text goes in via textContent (never as markup), so names
// from the database cannot inject markup.

/** document.querySelector, or within `root`. */
export const $ = (sel, root = document) => root.querySelector(sel);

/** Create an element: h("td", {class: "x", onclick: fn}, "text", childEl, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Fill a <dl> with [term, description] pairs. */
export function dl(el, pairs) {
  if (!el) return;
  el.replaceChildren(...pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
