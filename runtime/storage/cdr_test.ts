import assert from "node:assert/strict";
import { assertThrows, tempStorage } from "./_testing.ts";
import type { CdrRecord } from "./cdr.ts";

const base: CdrRecord = {
  callId: "c1",
  caller: "201",
  callee: "202",
  startedAt: 1000,
  endedAt: 61_000,
  answeredAt: 11_000,
  disposition: "answered",
  hangupBy: "caller",
  sipCode: 200,
};

Deno.test("CDR insert computes durations and list filters by time, extension and disposition", () => {
  const s = tempStorage();
  try {
    const id = s.cdr.insert(base);
    s.cdr.insert({
      ...base,
      callId: "c2",
      caller: "203",
      callee: "204",
      startedAt: 100_000,
      endedAt: 101_000,
      answeredAt: undefined,
      disposition: "busy",
      sipCode: 486,
    });
    s.cdr.insert({
      ...base,
      callId: "c3",
      callee: "201",
      caller: "205",
      startedAt: 200_000,
      endedAt: 200_500,
      answeredAt: undefined,
      disposition: "no-answer",
    });
    const first = s.cdr.list({ extension: "202" });
    assert.equal(first.length, 1);
    assert.equal(first[0]!.id, id);
    assert.equal(first[0]!.durationMs, 60_000);
    assert.equal(first[0]!.billsecMs, 50_000);
    assert.deepEqual(s.cdr.list().map((r) => r.callId), ["c3", "c2", "c1"]);
    assert.deepEqual(s.cdr.list({ extension: "201" }).map((r) => r.callId), ["c3", "c1"]);
    assert.deepEqual(s.cdr.list({ from: 100_000, to: 200_000 }).map((r) => r.callId), ["c2"]);
    assert.deepEqual(s.cdr.list({ disposition: "busy" }).map((r) => r.sipCode), [486]);
    assert.equal(s.cdr.list({ disposition: "busy" })[0]!.billsecMs, 0);
    assert.equal(s.cdr.count({ extension: "201" }), 2);
    assert.deepEqual(s.cdr.list({ limit: 1, offset: 1 }).map((r) => r.callId), ["c2"]);
  } finally {
    s.dispose();
  }
});

Deno.test("CDR insert rejects inconsistent times and unknown dispositions", () => {
  const s = tempStorage();
  try {
    assertThrows(() => s.cdr.insert({ ...base, endedAt: 500 }), RangeError, "before startedAt");
    assertThrows(() => s.cdr.insert({ ...base, answeredAt: 99_000 }), RangeError, "answeredAt");
    assertThrows(() => s.cdr.insert({ ...base, disposition: "lost" as "busy" }), RangeError, "lost");
    assertThrows(() => s.cdr.insert({ ...base, hangupBy: "nobody" as "caller" }), RangeError, "nobody");
    assertThrows(() => s.cdr.insert({ ...base, startedAt: -1 }), TypeError, "startedAt");
    assertThrows(() => s.cdr.insert({ ...base, sipCode: 42 }), RangeError, "42");
    assertThrows(() => s.cdr.list({ disposition: "x" as "busy" }), RangeError, "x");
    assert.equal(s.cdr.count(), 0);
  } finally {
    s.dispose();
  }
});

Deno.test("CDR CSV quotes commas and quotes and defuses spreadsheet formulas", () => {
  const s = tempStorage();
  try {
    s.cdr.insert({ ...base, callerName: '=HYPERLINK("x"), "Bob"', reason: "line1\nline2" });
    const csv = s.cdr.toCsv(s.cdr.list());
    const lines = csv.split("\r\n");
    assert.equal(
      lines[0],
      "id,callId,caller,callerName,callee,startedAt,answeredAt,endedAt,durationMs,billsecMs,disposition,hangupBy,sipCode,reason,linkedId,trunk,verstat",
    );
    assert.ok(csv.includes(`"'=HYPERLINK(""x""), ""Bob"""`));
    assert.ok(csv.includes('"line1\nline2"'));
    assert.ok(csv.endsWith("\r\n"));
  } finally {
    s.dispose();
  }
});

Deno.test("insertDurable batches call records into one commit and resolves each with its id", async () => {
  const s = tempStorage();
  try {
    const base = { callId: "c", caller: "201", callee: "202", startedAt: 1000, endedAt: 2000 };
    const ids = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => s.cdr.insertDurable({ ...base, callId: `c${i}`, disposition: "answered" }),
      ),
    );
    assert.equal(new Set(ids).size, 200);
    assert.equal(s.cdr.count(), 200);
  } finally {
    s.close();
  }
});

Deno.test("insertDurable rejects a bad record at once and the rest of the batch still commits", async () => {
  const s = tempStorage();
  try {
    const base = { callId: "c", caller: "201", callee: "202", startedAt: 1000, endedAt: 2000 };
    const good = s.cdr.insertDurable({ ...base, disposition: "busy" });
    await assert.rejects(
      () => s.cdr.insertDurable({ ...base, disposition: "nonsense" as "busy" }),
      (e: Error) => e instanceof RangeError && e.message.includes("disposition"),
    );
    assert.ok((await good) > 0);
    assert.equal(s.cdr.count(), 1);
  } finally {
    s.close();
  }
});

Deno.test("records of one call share its link id; without one a record links to its own Call-ID", () => {
  const s = tempStorage();
  try {
    const r = {
      caller: "201",
      callee: "202",
      startedAt: 1000,
      endedAt: 2000,
      disposition: "answered" as const,
    };
    s.cdr.insert({ ...r, callId: "first", disposition: "busy" });
    s.cdr.insert({ ...r, callId: "first", linkedId: "first", callee: "203" });
    s.cdr.insert({ ...r, callId: "transfer-leg", linkedId: "first", callee: "204" });
    s.cdr.insert({ ...r, callId: "other" });
    assert.deepEqual(s.cdr.list({ linkedId: "first" }).map((x) => [x.callId, x.callee]).sort(), [
      ["first", "202"],
      ["first", "203"],
      ["transfer-leg", "204"],
    ]);
    assert.equal(s.cdr.list({ linkedId: "other" })[0]!.linkedId, "other");
    assert.equal(s.cdr.count({ linkedId: "first" }), 3);
    assert.throws(() => s.cdr.insert({ ...r, callId: "x", linkedId: "y".repeat(2000) }), TypeError);
  } finally {
    s.dispose();
  }
});
