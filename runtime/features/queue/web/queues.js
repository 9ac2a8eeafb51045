// Queue wallboard: waiting callers, longest wait, agents' states, answered/abandoned today, live
// over SSE (/api/queues/events); agents can be paused and logged in/out from here.
import { api } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { actionButton } from "/static/lib/crud.js";
import { startPage } from "/static/lib/page.js";

const secs = (ms) => `${Math.round(ms / 1000)} s`;
const enc = encodeURIComponent;

function board(q) {
  const agentRows = q.agents.map((a) => {
    const path = `/api/queues/${enc(q.queue)}/agents/${enc(a.extension)}`;
    const actions = [];
    if (a.state !== "logged-out") {
      const paused = a.state === "paused";
      actions.push(actionButton(paused ? "Unpause" : "Pause", {
        label: `${paused ? "Unpause" : "Pause"} ${a.extension} in ${q.queue}`,
        run: () => api("POST", path, { paused: !paused }),
        done: `${a.extension} ${paused ? "unpaused" : "paused"}.`,
      }));
    }
    if (!a.static) {
      const out = a.state === "logged-out";
      actions.push(actionButton(out ? "Log in" : "Log out", {
        label: `${out ? "Log in" : "Log out"} ${a.extension} in ${q.queue}`,
        run: () => api("POST", path, { loggedIn: out }),
        done: `${a.extension} logged ${out ? "in" : "out"}.`,
      }));
    }
    return h(
      "tr",
      { "data-agent": a.extension },
      h("td", { "data-label": "Agent" }, a.extension + (a.static ? " (static)" : "")),
      h("td", { "data-label": "State" }, a.state),
      h("td", { "data-label": "Calls today" }, String(a.callsToday)),
      h("td", { class: "actions" }, ...actions),
    );
  });
  const callerRows = q.callers.map((c) =>
    h(
      "tr",
      {},
      h("td", {}, String(c.position)),
      h("td", {}, c.callback ? `${c.caller} (callback)` : c.caller),
      h("td", {}, secs(c.waitMs)),
    )
  );
  return h(
    "section",
    { class: "card stack", "data-queue": q.queue },
    h("h2", {}, `${q.queue} ${q.name} (${q.strategy})`),
    h(
      "p",
      { class: "q-figures" },
      `Waiting: ${q.waiting} · Longest wait: ${
        secs(q.longestWaitMs)
      } · Answered today: ${q.answeredToday} · Abandoned today: ${q.abandonedToday}`,
    ),
    h(
      "table",
      { class: "stack-sm", "aria-label": `Agents of ${q.queue}` },
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, "Agent"), h("th", {}, "State"), h("th", {}, "Calls today"), h("th", {}, "")),
      ),
      h("tbody", {}, ...agentRows),
    ),
    h(
      "table",
      { class: "stack-sm", "aria-label": `Callers waiting in ${q.queue}` },
      h("thead", {}, h("tr", {}, h("th", {}, "Position"), h("th", {}, "Caller"), h("th", {}, "Waiting"))),
      h("tbody", {}, ...callerRows),
    ),
    h(
      "a",
      { href: `/api/queues/${enc(q.queue)}/stats?format=csv`, class: "button secondary" },
      "Today's statistics (CSV)",
    ),
  );
}

startPage(() => {
  const es = new EventSource("/api/queues/events");
  es.addEventListener("open", () => ($("#q-status").textContent = "Live."));
  es.addEventListener("error", () => ($("#q-status").textContent = "Reconnecting…"));
  es.addEventListener("wallboard", (e) => {
    const { queues } = JSON.parse(e.data);
    $("#q-none").hidden = queues.length > 0;
    $("#q-boards").replaceChildren(...queues.map(board));
  });
});
