// Conference rooms: the rooms (create, lock/unlock, delete) and who is in them, live over SSE
// (/api/conference/events): who is talking, mute/unmute, kick.
import { api } from "/static/lib/api.js";
import { $ } from "/static/lib/dom.js";
import { onSubmit } from "/static/lib/forms.js";
import { actionButton, deleteButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

const enc = encodeURIComponent;

startPage(async () => {
  let live = [];
  const loadRooms = async () => {
    const { rooms } = await api("GET", "/api/conference/rooms");
    fillTable(
      "#conf-rooms",
      "#conf-rooms-empty",
      rooms.map((r) =>
        row({ "data-room": r.number }, [
          { label: "Number", value: r.number },
          { label: "Name", value: r.name },
          { label: "PIN", value: r.pin ? "yes" : "no" },
          { label: "Limit", value: String(r.maxParticipants) },
          { label: "In the room", value: String(r.participants) },
          { label: "Lock", value: r.locked ? "locked" : "open" },
          {
            actions: [
              actionButton(r.locked ? "Unlock" : "Lock", {
                label: `${r.locked ? "Unlock" : "Lock"} room ${r.number}`,
                run: () => api("POST", `/api/conference/rooms/${enc(r.number)}/lock`, { locked: !r.locked }),
                done: r.locked ? "Room unlocked." : "Room locked.",
                reload: loadRooms,
              }),
              deleteButton(
                `Delete room ${r.number}`,
                `Delete room ${r.number}?`,
                () => api("DELETE", `/api/conference/rooms/${enc(r.number)}`),
                loadRooms,
                "Room deleted.",
              ),
            ],
          },
        ])
      ),
    );
  };
  const showPeople = () => {
    const people = live.flatMap((room) => room.participants.map((p) => ({ room: room.number, ...p })));
    fillTable(
      "#conf-people",
      "#conf-people-empty",
      people.map((p) =>
        row({ "data-participant": p.id, class: p.talking ? "talking" : "" }, [
          { label: "Room", value: p.room },
          { label: "Caller", value: p.caller },
          { label: "Codec", value: p.codec },
          { label: "Role", value: p.moderator ? "moderator" : "participant" },
          { label: "Talking", value: p.talking ? "talking" : "" },
          { label: "Muted", value: p.muted ? "muted" : "" },
          {
            actions: [
              actionButton(p.muted ? "Unmute" : "Mute", {
                label: `${p.muted ? "Unmute" : "Mute"} ${p.caller}`,
                run: () =>
                  api("POST", `/api/conference/rooms/${enc(p.room)}/participants/${enc(p.id)}/mute`, {
                    muted: !p.muted,
                  }),
                done: p.muted ? `${p.caller} unmuted.` : `${p.caller} muted.`,
              }),
              actionButton("Kick", {
                label: `Kick ${p.caller}`,
                className: "danger",
                question: `End ${p.caller}'s call?`,
                run: () => api("POST", `/api/conference/rooms/${enc(p.room)}/participants/${enc(p.id)}/kick`),
                done: `${p.caller} removed.`,
              }),
            ],
          },
        ])
      ),
    );
  };
  onSubmit($("#conf-form"), async (_values, form) => {
    const d = new FormData(form);
    const number = String(d.get("number"));
    await api("PUT", `/api/conference/rooms/${enc(number)}`, {
      name: String(d.get("name") || `Room ${number}`),
      pin: String(d.get("pin") ?? ""),
      moderatorPin: String(d.get("moderatorPin") ?? ""),
      maxParticipants: Number(d.get("maxParticipants") || 30),
    });
    form.reset();
    await loadRooms();
    return `Room ${number} saved.`;
  });
  await loadRooms();
  const es = new EventSource("/api/conference/events");
  es.addEventListener("open", () => ($("#conf-status").textContent = "Live."));
  es.addEventListener("error", () => ($("#conf-status").textContent = "Reconnecting…"));
  es.addEventListener("rooms", (e) => {
    live = JSON.parse(e.data).rooms;
    showPeople();
    void loadRooms().catch(() => {});
  });
});
