import { deepStrictEqual as eq } from "node:assert";
import { type AgentState, chooseAgents, freeAgents } from "./strategy.ts";

const agent = (extension: string, order: number, more: Partial<AgentState> = {}): AgentState => ({
  extension,
  order,
  loggedIn: true,
  paused: false,
  busy: false,
  dnd: false,
  wrapUpUntil: 0,
  lastCallEndedAt: null,
  callsToday: 0,
  ...more,
});

Deno.test("free agents skip the logged-out, paused, busy, DND and those in wrap-up", () => {
  const now = 1000;
  const agents = [
    agent("201", 0),
    agent("202", 1, { paused: true }),
    agent("203", 2, { busy: true }),
    agent("204", 3, { dnd: true }),
    agent("205", 4, { loggedIn: false }),
    agent("206", 5, { wrapUpUntil: 2000 }),
    agent("207", 6, { wrapUpUntil: 999 }),
  ];
  eq(freeAgents(agents, now).map((a) => a.extension), ["201", "207"]);
  eq(chooseAgents("ring-all", agents, { now }), ["201", "207"]);
  eq(chooseAgents("linear", agents, { now: 5000 }), ["201", "206", "207"]); // wrap-up over
});

Deno.test("round-robin remembers the last agent rung and wraps around", () => {
  const agents = [agent("201", 0), agent("202", 1), agent("203", 2)];
  eq(chooseAgents("round-robin", agents, { now: 0 }), ["201", "202", "203"]);
  eq(chooseAgents("round-robin", agents, { now: 0, lastRung: "201" })[0], "202");
  eq(chooseAgents("round-robin", agents, { now: 0, lastRung: "203" })[0], "201");
  // After 202 comes 203, but it is busy: 201 is next, then 202 again.
  agents[2]!.busy = true;
  eq(chooseAgents("round-robin", agents, { now: 0, lastRung: "202" }), ["201", "202"]);
});

Deno.test("least-recent, fewest-calls and random choose as they should", () => {
  const agents = [
    agent("201", 0, { lastCallEndedAt: 500, callsToday: 4 }),
    agent("202", 1, { lastCallEndedAt: 100, callsToday: 2 }),
    agent("203", 2, { lastCallEndedAt: null, callsToday: 3 }),
  ];
  eq(chooseAgents("least-recent", agents, { now: 1000 }), ["203", "202", "201"]);
  eq(chooseAgents("fewest-calls", agents, { now: 1000 }), ["202", "203", "201"]);
  const seq = [0.9, 0.1, 0];
  eq(chooseAgents("random", agents, { now: 1000, random: () => seq.shift()! }), ["203", "201", "202"]);
  eq(chooseAgents("random", [], { now: 0 }), []);
});
