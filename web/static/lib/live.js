// Live updates over SSE (GET /api/events, docs/web.md): one EventSource per page, handlers by
// event name; an ended session ("expired") goes to the login page.

/**
 * Listen to the event stream: `handlers` maps an event name (registrations, calls, zones) to a
 * function of its parsed data. `status(state)` is told "open" and "error" (reconnecting).
 */
export function liveEvents(handlers, { status } = {}) {
  const es = new EventSource("/api/events");
  if (status) {
    es.addEventListener("open", () => status("open"));
    es.addEventListener("error", () => status("error"));
  }
  for (const [name, fn] of Object.entries(handlers)) {
    es.addEventListener(name, (e) => fn(e.data ? JSON.parse(e.data) : {}));
  }
  es.addEventListener("expired", () => {
    es.close();
    location.assign("/login");
  });
  return es;
}
