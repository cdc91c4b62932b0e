// The dashboard page: the key prompt, the filters, the tiles, charts and tables, and the live refresh.

import { ApiError, call, keyStore, query } from "./api.js";
import { renderCharts } from "./charts.js";
import { ago, count, day, delta, money, percent, ratio, when } from "./format.js";
import { initReports, suggestPeriod } from "./reports.js";

const REFRESH_SECONDS = 5;

// The tiles, in order: how each value is shown, and which way is good news.
const TILES = [
  ["revenue", "Revenue", "money", "up"],
  ["orders", "Orders", "count", "up"],
  ["units", "Units", "count", "up"],
  ["average_order_value", "Average order", "money", "up"],
  ["return_rate", "Return rate", "percent", "down"],
  ["new_customers", "New customers", "count", "up"],
  ["returning_customers", "Returning customers", "count", "up"],
  ["ad_spend", "Ad spend", "money", "neutral"],
  ["roas", "ROAS", "ratio", "up"],
];

const $ = (id) => document.getElementById(id);
const state = { updatedAt: null, triedAt: 0, failed: false, inFlight: false, sequence: 0, timer: null, answer: null };

function show(value, kind, currency) {
  if (kind === "money") return money(value, currency);
  if (kind === "percent") return percent(value);
  if (kind === "ratio") return ratio(value);
  return count(value);
}

function filters() {
  const form = $("filters");
  const values = Object.fromEntries(new FormData(form).entries());
  if (values.country) values.country = values.country.toUpperCase();
  return values;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(body, rows, empty, columns) {
  body.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(empty, "muted");
    td.colSpan = columns;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const cells of rows) {
    const tr = document.createElement("tr");
    tr.append(...cells.map(([text, className]) => cell(text, className)));
    body.append(tr);
  }
}

function renderTiles(answer) {
  const tiles = TILES.map(([name, label, kind, goodWhen]) => {
    const kpi = answer.kpis[name] || { value: null, previous: null, change: null };
    const tile = document.createElement("article");
    tile.className = "tile";
    tile.dataset.kpi = name;
    const change = delta(kpi.change, goodWhen);
    const heading = Object.assign(document.createElement("h3"), { textContent: label });
    const value = Object.assign(document.createElement("p"), {
      className: "value",
      textContent: show(kpi.value, kind, answer.currency),
    });
    const trend = Object.assign(document.createElement("p"), { className: `delta ${change.trend}`, textContent: change.text });
    const previous = Object.assign(document.createElement("p"), {
      className: "previous muted",
      textContent: `previous: ${show(kpi.previous, kind, answer.currency)}`,
    });
    tile.append(heading, value, trend, previous);
    return tile;
  });
  $("tiles").replaceChildren(...tiles);
}

function renderTables(answer) {
  fillTable(
    $("top-products"),
    answer.top_products.map((p) => [[p.sku], [count(p.units), "num"], [count(p.orders), "num"], [money(p.revenue, answer.currency), "num"]]),
    "No sales in this period.",
    4,
  );
  fillTable(
    $("stock-alerts"),
    answer.stock_alerts.map((a) => [[a.sku], [count(a.stock), "num"], [Number(a.reorder_point).toLocaleString(), "num"], [count(a.order_quantity), "num"]]),
    "No SKU is below its reorder point.",
    4,
  );
}

function offer(listId, keys) {
  const list = $(listId);
  const known = new Set([...list.options].map((o) => o.value));
  for (const key of keys) {
    if (!known.has(key)) list.append(Object.assign(document.createElement("option"), { value: key }));
  }
}

function renderPeriod(answer) {
  const compared = answer.comparison;
  const mode = compared.mode === "previous_year" ? "the previous year" : "the previous period";
  $("period").textContent =
    `${day(answer.period.from)} – ${day(answer.period.to)} (${answer.timezone}, ${answer.currency}), ` +
    `compared with ${mode}: ${day(compared.from)} – ${day(compared.to)}`;
  $("f-from").placeholder = answer.period.from;
  $("f-to").placeholder = answer.period.to;
  const asOf = answer.as_of || {};
  $("as-of").textContent =
    `Rolled up to ${asOf.rollups ? day(asOf.rollups) : "— (no night yet)"}; ` +
    `live counters read ${asOf.live ? when(asOf.live) : "—"}; ` +
    `stock alerts of ${asOf.stock_alerts ? day(asOf.stock_alerts) : "— (none computed yet)"}.`;
}

function render(answer) {
  state.answer = answer;
  renderPeriod(answer);
  renderTiles(answer);
  renderCharts(answer);
  renderTables(answer);
  offer("channels", (answer.breakdowns.channel || []).map((row) => row.key));
  offer("countries", (answer.breakdowns.country || []).map((row) => row.key));
  suggestPeriod(answer.period);
}

function showError(error) {
  state.failed = Boolean(error);
  const banner = $("error");
  const why = error instanceof ApiError ? error.readable() : `${error}`;
  banner.textContent = error ? `The figures could not be loaded: ${why}` : "";
  banner.hidden = !error;
}

function tick() {
  const freshness = $("freshness");
  const retrying = state.failed ? " — the last update failed, retrying" : "";
  if (state.updatedAt === null) {
    freshness.textContent = state.failed ? "not loaded, retrying" : "loading…";
    return;
  }
  const seconds = Math.max(0, Math.round((Date.now() - state.updatedAt) / 1000));
  freshness.textContent = `updated ${ago(seconds)}${retrying}`;
}

export async function refresh() {
  if (!keyStore.get()) return;
  const sequence = ++state.sequence;
  state.inFlight = true;
  state.triedAt = Date.now();
  try {
    const { body } = await call("GET", `/dashboard/kpis${query(filters())}`);
    if (sequence !== state.sequence) return; // a newer request (a filter change) answers instead
    render(body);
    state.updatedAt = Date.now();
    showError(null);
  } catch (error) {
    if (sequence !== state.sequence) return;
    if (error instanceof ApiError && error.status === 401) {
      askForKey(`The API key was refused: ${error.message}`);
      return;
    }
    showError(error);
  } finally {
    if (sequence === state.sequence) state.inFlight = false;
    tick();
  }
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    tick();
    // Every REFRESH_SECONDS from the last try, answered or not: a failing API is not asked every second.
    const due = Date.now() - state.triedAt >= REFRESH_SECONDS * 1000;
    // Live while the page is seen: a hidden tab asks nothing, and one request at a time.
    if ($("live").checked && due && !state.inFlight && document.visibilityState === "visible" && keyStore.get()) {
      refresh();
    }
  }, 1000);
}

function askForKey(message) {
  keyStore.forget();
  clearInterval(state.timer);
  $("main").hidden = true;
  $("status-bar").hidden = true;
  $("key-panel").hidden = false;
  const error = $("key-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("api-key").value = "";
  $("api-key").focus();
}

function open() {
  $("key-panel").hidden = true;
  $("main").hidden = false;
  $("status-bar").hidden = false;
  state.updatedAt = null;
  tick();
  refresh();
  schedule();
  initReports();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  keyStore.set(key);
  $("api-key").value = "";
  open();
});

$("forget-key").addEventListener("click", () => askForKey("The key was forgotten: enter one to go on."));

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  refresh();
});
// A select or date applies at once; text applies on Enter or when the field is left (change).
$("filters").addEventListener("change", () => {
  if ($("filters").checkValidity()) refresh();
  else $("filters").reportValidity();
});
$("filters").addEventListener("reset", () => setTimeout(refresh, 0));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && $("live").checked && keyStore.get()) refresh();
});

if (keyStore.get()) open();
else askForKey();
