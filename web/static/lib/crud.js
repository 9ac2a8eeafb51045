// The create/edit/delete pattern: row buttons that confirm, call the API, report and reload, and
// edit panels that behave like dialogs.
import { h } from "./dom.js";
import { say, sayError } from "./messages.js";

/**
 * A button that (after an optional confirm()) runs `run()`, shows `done` (a string, or a function
 * of run's result), then `reload()`. Errors go to the message line.
 */
export function actionButton(
  text,
  { label, className = "secondary", question, run, done, reload, disableWhileRunning = false },
) {
  return h("button", {
    type: "button",
    class: className,
    "aria-label": label,
    onclick: async (ev) => {
      const button = ev.currentTarget;
      if (question !== undefined && !confirm(question)) return;
      if (disableWhileRunning) button.disabled = true;
      try {
        const r = await run();
        if (done !== undefined) say(typeof done === "function" ? done(r) : done);
        if (reload) await reload();
      } catch (x) {
        sayError(x);
      } finally {
        if (disableWhileRunning && button.isConnected) button.disabled = false;
      }
    },
  }, text);
}

/** A "Delete" button: confirm(question), del(), say(done), reload(). */
export function deleteButton(label, question, del, reload, done) {
  return actionButton("Delete", { label, className: "danger", question, run: del, done, reload });
}

/** An "Edit" button that runs fill() (put the row's values in the form and focus it). */
export function editButton(label, fill) {
  return h("button", {
    type: "button",
    class: "secondary",
    "aria-label": label,
    onclick: () => Promise.resolve(fill()).catch(sayError),
  }, "Edit");
}

/**
 * An edit panel that acts as a dialog: open() shows it and remembers the control that opened it;
 * Escape or close() hides it and focus goes back there (or to `fallback()` when that control was
 * re-rendered meanwhile).
 */
export function editPanel(panel, { onClose, fallback } = {}) {
  let opener = null;
  const close = () => {
    panel.hidden = true;
    onClose?.();
    const target = opener && document.contains(opener) ? opener : fallback?.();
    target?.focus();
    opener = null;
  };
  panel?.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented) {
      e.preventDefault();
      close();
    }
  });
  return {
    /** Remember the focused control (call before any await), then show the panel. */
    remember() {
      opener = document.activeElement;
    },
    show() {
      panel.hidden = false;
    },
    close,
    /** Hide without moving focus (after a save that re-rendered the list). */
    hide() {
      panel.hidden = true;
      opener = null;
    },
  };
}
