// Numbers as a person reads them. The API sends money and ratios as decimal strings.

const LOCALE = undefined; // the browser's

export function money(value, currency) {
  if (value === null || value === undefined) return "—";
  const number = Number(value);
  try {
    return new Intl.NumberFormat(LOCALE, { style: "currency", currency, maximumFractionDigits: 2 }).format(number);
  } catch {
    return `${number.toFixed(2)} ${currency || ""}`.trim();
  }
}

export function count(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(LOCALE).format(Number(value));
}

export function percent(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(LOCALE, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(Number(value));
}

export function ratio(value) {
  if (value === null || value === undefined) return "—";
  return `${Number(value).toFixed(2)}×`;
}

// The change against the comparison period: its sign, its text, and whether it is good news.
export function delta(change, goodWhen = "up") {
  if (change === null || change === undefined) return { text: "no comparison", trend: "none" };
  const number = Number(change);
  const sign = number > 0 ? "+" : number < 0 ? "−" : "±";
  const arrow = number > 0 ? "▲" : number < 0 ? "▼" : "■";
  const text = `${arrow} ${sign}${percent(Math.abs(number))}`;
  if (number === 0) return { text, trend: "flat" };
  if (goodWhen === "neutral") return { text, trend: "neutral" }; // neither good nor bad news by itself
  const good = (number > 0) === (goodWhen === "up");
  return { text, trend: good ? "good" : "bad" };
}

const MONTHS = { month: "short" };

// A bucket's start ("2026-11-04" or an ISO datetime for hours) as an axis label.
export function bucketLabel(start, granularity) {
  if (granularity === "hour") {
    const at = new Date(start);
    return at.toLocaleString(LOCALE, { ...MONTHS, day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  const [year, month, day] = start.slice(0, 10).split("-").map(Number);
  const at = new Date(Date.UTC(year, month - 1, day));
  if (granularity === "month") return at.toLocaleDateString(LOCALE, { ...MONTHS, year: "numeric", timeZone: "UTC" });
  return at.toLocaleDateString(LOCALE, { ...MONTHS, day: "numeric", timeZone: "UTC" });
}

export function day(text) {
  if (!text) return "—";
  const [year, month, dayOfMonth] = text.slice(0, 10).split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, dayOfMonth)).toLocaleDateString(LOCALE, {
    day: "numeric",
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  });
}

export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(LOCALE, { dateStyle: "medium", timeStyle: "short" });
}

export function ago(seconds) {
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ago` : `${Math.floor(minutes / 60)} h ago`;
}

export function bytes(size) {
  if (size === null || size === undefined) return "";
  if (size < 1024) return `${size} B`;
  return size < 1024 * 1024 ? `${(size / 1024).toFixed(1)} KiB` : `${(size / 1024 / 1024).toFixed(1)} MiB`;
}
