// Error and status display: the page's message line (#message, rendered by the layout).

/** Show a message in the page's status line; errors also go to role=alert. "" hides it. */
export function say(text, kind = "ok") {
  const el = document.querySelector("#message");
  if (!el) return;
  el.textContent = text;
  el.hidden = text === "";
  el.className = `message ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
}

/** Show an error (an Error's message, or the value) in the message line. */
export function sayError(err) {
  say(err instanceof Error ? err.message : String(err), "error");
}
