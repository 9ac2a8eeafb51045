import assert from "node:assert/strict";
import { localTime, nextOccurrence, zonedToEpoch } from "./calendar.ts";

Deno.test("localTime follows Europe/Berlin summer and winter offsets", () => {
  const summer = localTime(Date.UTC(2026, 6, 1, 6, 0), "Europe/Berlin");
  assert.deepEqual([summer.hour, summer.weekday], [8, 3]); // Wednesday 08:00 CEST
  const winter = localTime(Date.UTC(2026, 0, 5, 7, 0), "Europe/Berlin");
  assert.deepEqual([winter.hour, winter.weekday], [8, 1]); // Monday 08:00 CET
  assert.throws(() => localTime(0, "Mars/Olympus"), RangeError);
});

Deno.test("a 08:00 bell on the Berlin spring-forward Sunday fires at 06:00 UTC", () => {
  // 2026-03-29: clocks go 02:00 CET -> 03:00 CEST.
  const rule = { weekdays: [7], time: "08:00", exceptions: [] };
  const at = nextOccurrence(rule, Date.UTC(2026, 2, 28, 12, 0), "Europe/Berlin");
  assert.equal(at, Date.UTC(2026, 2, 29, 6, 0));
  // The Sunday before (CET) is 07:00 UTC.
  assert.equal(
    nextOccurrence(rule, Date.UTC(2026, 2, 21, 12, 0), "Europe/Berlin"),
    Date.UTC(2026, 2, 22, 7, 0),
  );
});

Deno.test("a time inside the DST gap lands past it; a repeated time picks the first", () => {
  // New York 2026-03-08 02:30 does not exist -> 03:30 EDT = 07:30 UTC.
  assert.equal(
    zonedToEpoch({ year: 2026, month: 3, day: 8 }, { hour: 2, minute: 30 }, "America/New_York"),
    Date.UTC(2026, 2, 8, 7, 30),
  );
  // 2026-11-01 01:30 happens twice; the first is EDT = 05:30 UTC.
  assert.equal(
    zonedToEpoch({ year: 2026, month: 11, day: 1 }, { hour: 1, minute: 30 }, "America/New_York"),
    Date.UTC(2026, 10, 1, 5, 30),
  );
});

Deno.test("holiday exceptions and weekdays are honoured", () => {
  const rule = { weekdays: [1, 2, 3, 4, 5], time: "07:55", exceptions: ["2026-12-25"] };
  // Thursday 24 Dec after 07:55 -> Friday 25 is a holiday -> Monday 28.
  const at = nextOccurrence(rule, Date.UTC(2026, 11, 24, 12, 0), "Europe/Berlin");
  assert.equal(at, Date.UTC(2026, 11, 28, 6, 55));
  assert.equal(
    nextOccurrence({ weekdays: [1], time: "07:00", exceptions: [] }, 0, "UTC"),
    Date.UTC(1970, 0, 5, 7),
  );
  assert.throws(() => nextOccurrence({ weekdays: [1], time: "7am", exceptions: [] }, 0, "UTC"), RangeError);
});
