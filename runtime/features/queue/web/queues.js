// Queue wallboard: waiting callers, longest wait, agents' states, answered/abandoned today, live
// over SSE (/api/queues/events); agents can be paused and logged in/out from here, and a queue's
// supervisors rung into an agent's call (listen, whisper, barge).
import { api } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { actionButton } from "/static/lib/crud.js";
import { startPage } from "/static/lib/page.js";

const secs = (ms) => `${Math.round(ms / 1000)} s`;
const enc = encodeURIComponent;
/** The supervisor chosen per queue (the board is redrawn on every event). */
const chosen = new Map();
const MODES = ["listen", "whisper", "barge"];
const cap = (m) => m[0].toUpperCase() + m.slice(1);

/** Supervise buttons of an agent on a queue call. */
function superviseActions(q, a) {
  if (!a.onQueueCall || q.supervisors.length === 0) return [];
  const base = `/api/queues/${enc(q.queue)}/supervise`;
  if (a.supervisedBy !== undefined) {
    return [
      ...MODES.filter((m) => m !== a.supervision).map((m) =>
        actionButton(cap(m), {
          label: `${cap(m)}: ${a.supervisedBy} on ${a.extension}'s call`,
          run: () => api("POST", `${base}/${enc(a.extension)}`, { mode: m }),
          done: `${a.supervisedBy} now ${m}s (${a.extension}).`,
        })
      ),
      actionButton("Stop", {
        label: `Stop supervising ${a.extension}`,
        run: () => api("DELETE", `${base}/${enc(a.extension)}`),
        done: `${a.supervisedBy} left ${a.extension}'s call.`,
      }),
    ];
  }
  return MODES.map((m) =>
    actionButton(cap(m), {
      label: `${cap(m)} to ${a.extension}'s call`,
      run: () => {
        const supervisor = chosen.get(q.queue) ?? q.supervisors[0];
        return api("POST", base, { agent: a.extension, supervisor, mode: m });
      },
      done: (r) => `Ringing ${r.ringing} to ${r.mode} ${r.agent}'s call.`,
    })
  );
}

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
      h(
        "td",
        { "data-label": "State" },
        a.state + (a.onQueueCall ? " (queue call)" : "") +
          (a.supervisedBy !== undefined ? `, ${a.supervisedBy} ${a.supervision}s` : ""),
      ),
      h("td", { "data-label": "Calls today" }, String(a.callsToday)),
      h("td", { class: "actions" }, ...actions, ...superviseActions(q, a)),
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
    ...(q.supervisors.length > 0
      ? [h(
        "label",
        {},
        "Supervisor ",
        h(
          "select",
          {
            "aria-label": `Supervisor for ${q.queue}`,
            onchange: (e) => chosen.set(q.queue, e.currentTarget.value),
          },
          ...q.supervisors.map((s) =>
            h("option", {
              value: s,
              ...((chosen.get(q.queue) ?? q.supervisors[0]) === s ? { selected: "" } : {}),
            }, s)
          ),
        ),
      )]
      : []),
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
