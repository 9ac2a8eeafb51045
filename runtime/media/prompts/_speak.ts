/**
 * English sentence builder: numbers, ordinals, counts, digit strings, dates and times spelled out
 * as words, so the text-to-speech engine never has to guess how to read "21" or "3:15".
 */

const ONES = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
];
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const SCALES: [number, string][] = [[1e12, "trillion"], [1e9, "billion"], [1e6, "million"], [
  1e3,
  "thousand",
]];

function below1000(n: number): string[] {
  const words: string[] = [];
  if (n >= 100) {
    words.push(ONES[Math.floor(n / 100)]!, "hundred");
    n %= 100;
  }
  if (n >= 20) {
    words.push(TENS[Math.floor(n / 10)]!);
    if (n % 10 !== 0) words.push(ONES[n % 10]!);
  } else if (n > 0 || words.length === 0) words.push(ONES[n]!);
  return words;
}

/** Largest magnitude {@linkcode numberWords} accepts. */
export const MAX_SPOKEN = 999_999_999_999_999;

/**
 * A whole number in words: 21 -> "twenty one", 1000 -> "one thousand", 1234 -> "one thousand two
 * hundred thirty four", -5 -> "minus five". RangeError on a non-integer or beyond ±{@linkcode MAX_SPOKEN}.
 */
export function numberWords(n: number): string {
  if (!Number.isSafeInteger(n) || Math.abs(n) > MAX_SPOKEN) {
    throw new RangeError(`cannot speak ${n}: need an integer within ±${MAX_SPOKEN}`);
  }
  if (n < 0) return `minus ${numberWords(-n)}`;
  if (n === 0) return "zero";
  const words: string[] = [];
  let rest = n;
  for (const [value, name] of SCALES) {
    if (rest >= value) {
      words.push(...below1000(Math.floor(rest / value)), name);
      rest %= value;
    }
  }
  if (rest > 0) words.push(...below1000(rest));
  return words.join(" ");
}

const ORDINAL_IRREGULAR: Record<string, string> = {
  one: "first",
  two: "second",
  three: "third",
  five: "fifth",
  eight: "eighth",
  nine: "ninth",
  twelve: "twelfth",
};

/** An ordinal in words: 1 -> "first", 21 -> "twenty first", 12 -> "twelfth", 100 -> "one hundredth". */
export function ordinalWords(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`cannot speak ordinal ${n}: need an integer >= 0`);
  }
  const words = numberWords(n).split(" ");
  const last = words.pop()!;
  let ord: string;
  if (ORDINAL_IRREGULAR[last] !== undefined) ord = ORDINAL_IRREGULAR[last];
  else if (last.endsWith("y")) ord = last.slice(0, -1) + "ieth";
  else ord = last + "th";
  words.push(ord);
  return words.join(" ");
}

/**
 * A count with its noun: (3, "new message") -> "three new messages", 1 -> "one new message",
 * 0 -> "no new messages". `plural` defaults to `singular + "s"`.
 */
export function countWords(n: number, singular: string, plural = `${singular}s`): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot count ${n}: need an integer >= 0`);
  if (n === 0) return `no ${plural}`;
  return `${numberWords(n)} ${n === 1 ? singular : plural}`;
}

const DIGIT_NAMES: Record<string, string> = { "*": "star", "#": "pound", "+": "plus" };

/**
 * A telephone number or PIN digit by digit: "+1 555-0100" -> "plus one five five five zero one zero
 * zero"; `*` is "star", `#` "pound"; spaces, dashes, dots and brackets are skipped. SyntaxError on any
 * other character (naming it).
 */
export function digitWords(digits: string): string {
  const words: string[] = [];
  for (const ch of digits) {
    if (ch >= "0" && ch <= "9") words.push(ONES[ch.charCodeAt(0) - 48]!);
    else if (DIGIT_NAMES[ch] !== undefined) words.push(DIGIT_NAMES[ch]);
    else if (!" -.()".includes(ch)) throw new SyntaxError(`cannot speak ${JSON.stringify(ch)} in a number`);
  }
  if (words.length === 0) throw new SyntaxError(`no digits in ${JSON.stringify(digits)}`);
  return words.join(" ");
}

/** Options for {@linkcode dateTimeWords}. */
export interface DateWordsOptions {
  /** IANA time zone the listener lives in (default: the process's). */
  timeZone?: string | undefined;
  /** Say the year too (default false). */
  year?: boolean;
  /** Leave out the time of day (default false). */
  dateOnly?: boolean;
}

/**
 * A time of day as spoken on a phone: 15:15 -> "three fifteen PM", 9:05 -> "nine oh five AM",
 * 12:00 -> "twelve PM", 0:30 -> "twelve thirty AM".
 */
export function timeWords(hours: number, minutes: number): string {
  if (!Number.isInteger(hours) || hours < 0 || hours > 23) throw new RangeError(`hour ${hours} not in 0..23`);
  if (!Number.isInteger(minutes) || minutes < 0 || minutes > 59) {
    throw new RangeError(`minute ${minutes} not in 0..59`);
  }
  const h12 = hours % 12 === 0 ? 12 : hours % 12;
  const half = hours < 12 ? "AM" : "PM";
  const mins = minutes === 0 ? "" : minutes < 10 ? ` oh ${numberWords(minutes)}` : ` ${numberWords(minutes)}`;
  return `${numberWords(h12)}${mins} ${half}`;
}

/** A year as spoken: 2026 -> "twenty twenty six", 2000 -> "two thousand", 2005 -> "two thousand five". */
export function yearWords(year: number): string {
  if (!Number.isInteger(year) || year < 1 || year > 9999) throw new RangeError(`year ${year} not in 1..9999`);
  if (year % 100 === 0 || (year >= 2000 && year < 2010)) return numberWords(year);
  if (year % 100 < 10) return `${numberWords(Math.floor(year / 100))} oh ${numberWords(year % 100)}`;
  return `${numberWords(Math.floor(year / 100))} ${numberWords(year % 100)}`;
}

/**
 * A date and time the way a voicemail envelope says it: "Tuesday, December first at three fifteen PM"
 * (with `year`: "Tuesday, December first twenty twenty six at ..."). RangeError on an invalid date,
 * or an unknown time zone.
 */
export function dateTimeWords(when: Date | number, options: DateWordsOptions = {}): string {
  const date = typeof when === "number" ? new Date(when) : when;
  if (Number.isNaN(date.getTime())) throw new RangeError("cannot speak an invalid date");
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: options.timeZone,
    weekday: "long",
    month: "long",
    day: "numeric",
    year: "numeric",
    hour: "numeric",
    minute: "numeric",
    hourCycle: "h23",
  });
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(date)) parts[p.type] = p.value;
  let text = `${parts.weekday}, ${parts.month} ${ordinalWords(Number(parts.day))}`;
  if (options.year) text += ` ${yearWords(Number(parts.year))}`;
  if (!options.dateOnly) text += ` at ${timeWords(Number(parts.hour) % 24, Number(parts.minute))}`;
  return text;
}

/** Durations for envelopes: 75 -> "one minute fifteen seconds", 1 -> "one second". */
export function durationWords(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`duration ${seconds} must be >= 0`);
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  const rest = s % 60;
  const parts: string[] = [];
  if (m > 0) parts.push(countWords(m, "minute"));
  if (rest > 0 || m === 0) parts.push(countWords(rest, "second").replace(/^no /, "zero "));
  return parts.join(" ");
}
