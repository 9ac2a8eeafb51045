// Formatting of API values for display.

/** Epoch ms as local date and time; "" for none. */
export const time = (ms) => (ms === null || ms === undefined ? "" : new Date(ms).toLocaleString());

/** Milliseconds as m:ss. */
export const duration = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

/** A byte count as B/KiB/MiB/...; "unknown" for none. */
export const bytes = (n) => {
  if (n === null || n === undefined) return "unknown";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};

/** "a, b ,c" -> ["a", "b", "c"]. */
export const list = (s) => String(s ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
