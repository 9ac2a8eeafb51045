/**
 * Local wall time in an IANA time zone (via Intl.DateTimeFormat, so DST follows the system's tz
 * database) and the next time a weekly bell falls due.
 *
 * @module
 */

/** A wall-clock time in some zone. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** ISO weekday: 1 = Monday .. 7 = Sunday. */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        weekday: "short",
      });
    } catch {
      throw new RangeError(`unknown time zone ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** The wall time in `timeZone` at epoch ms `at`. RangeError for an unknown zone. */
export function localTime(at: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday ?? ""] ?? 0,
  };
}

/** Offset of `timeZone` from UTC at `at`, in ms (Berlin in summer: +7200000). */
function offsetAt(at: number, timeZone: string): number {
  const t = localTime(at, timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUtc - Math.floor(at / 1000) * 1000;
}

/**
 * The epoch ms of a wall time in `timeZone`. A time skipped by a spring-forward transition maps
 * to the same distance past the gap (02:30 -> 03:30); a repeated one (fall back) maps to its first
 * occurrence.
 */
export function zonedToEpoch(
  date: { year: number; month: number; day: number },
  time: { hour: number; minute: number },
  timeZone: string,
): number {
  const guess = Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute);
  const candidates = new Set<number>();
  for (const probe of [guess - 86_400_000, guess, guess + 86_400_000]) {
    candidates.add(guess - offsetAt(probe, timeZone));
  }
  const exact = [...candidates].filter((c) => {
    const t = localTime(c, timeZone);
    return t.year === date.year && t.month === date.month && t.day === date.day && t.hour === time.hour &&
      t.minute === time.minute;
  }).sort((a, b) => a - b);
  if (exact.length > 0) return exact[0]!;
  // In a gap: use the offset in force before the transition, which lands past the gap.
  return guess - offsetAt(guess - 86_400_000, timeZone);
}

/** A weekly rule. */
export interface WeeklyRule {
  /** ISO weekdays, 1 = Monday .. 7 = Sunday. */
  weekdays: readonly number[];
  /** "HH:MM" local. */
  time: string;
  /** Local dates "YYYY-MM-DD" to skip. */
  exceptions: readonly string[];
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * The first epoch ms strictly after `after` at which `rule` falls due in `timeZone`, or null if it
 * never does within 400 days (every matching day excepted).
 */
export function nextOccurrence(rule: WeeklyRule, after: number, timeZone: string): number | null {
  const m = /^(\d\d):(\d\d)$/.exec(rule.time);
  if (!m) throw new RangeError(`schedule time must be HH:MM, got ${JSON.stringify(rule.time)}`);
  const time = { hour: Number(m[1]), minute: Number(m[2]) };
  const start = localTime(after, timeZone);
  // Walk local calendar days with a UTC-date cursor (calendar arithmetic only, no zone involved).
  const cursor = new Date(Date.UTC(start.year, start.month - 1, start.day));
  for (let i = 0; i < 400; i++, cursor.setUTCDate(cursor.getUTCDate() + 1)) {
    const date = { year: cursor.getUTCFullYear(), month: cursor.getUTCMonth() + 1, day: cursor.getUTCDate() };
    const weekday = ((cursor.getUTCDay() + 6) % 7) + 1;
    if (!rule.weekdays.includes(weekday)) continue;
    if (rule.exceptions.includes(`${date.year}-${pad(date.month)}-${pad(date.day)}`)) continue;
    const at = zonedToEpoch(date, time, timeZone);
    if (at > after) return at;
  }
  return null;
}
