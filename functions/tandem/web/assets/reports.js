// The "Generate report" panel: POST /reports, then the inline answer (200) or the job (202),
// followed at GET /reports/{job_id} until its download link; and the recent jobs.

import { ApiError, call } from "./api.js";
import { bytes, count, day, money, when } from "./format.js";

const $ = (id) => document.getElementById(id);
const KINDS = {
  sales_summary: "Sales summary",
  product_performance: "Product performance",
  customer_cohorts: "Customer cohorts",
  marketing_roas: "Marketing ROAS",
  table_export: "Table export",
  morning_report: "Morning report",
};
let started = false;
let following = null; // the job being followed: one at a time

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function outcome(...nodes) {
  $("report-outcome").replaceChildren(...nodes);
}

function readable(error) {
  return error instanceof ApiError ? error.readable() : `${error}`;
}

function filtersApply() {
  const lake = $("r-kind").value !== "sales_summary";
  for (const id of ["r-channel", "r-country", "r-category"]) $(id).disabled = !lake;
  $("r-filter-note").hidden = lake;
}

function requestBody() {
  const body = {
    kind: $("r-kind").value,
    from: $("r-from").value,
    to: $("r-to").value,
    format: $("r-format").value,
    granularity: $("r-granularity").value,
  };
  if (body.kind !== "sales_summary") {
    const filters = {};
    for (const name of ["channel", "country", "category"]) {
      const value = $(`r-${name}`).value.trim();
      if (value) filters[name] = name === "country" ? value.toUpperCase() : value;
    }
    if (Object.keys(filters).length) body.filters = filters;
  }
  return body;
}

// The report period follows the dashboard's until the user picks one.
export function suggestPeriod(period) {
  if (!$("r-from").value) $("r-from").value = period.from;
  if (!$("r-to").value) $("r-to").value = period.to;
}

function inlineAnswer(summary) {
  const rows = Object.entries(summary.by_currency).map(([currency, totals]) =>
    element(
      "tr",
      {},
      element("td", { textContent: currency }),
      element("td", { className: "num", textContent: count(totals.orders) }),
      element("td", { className: "num", textContent: count(totals.units) }),
      element("td", { className: "num", textContent: money(totals.revenue, currency) }),
      element("td", { className: "num", textContent: money(totals.average_order_value, currency) }),
    ),
  );
  const table = element(
    "table",
    {},
    element(
      "thead",
      {},
      element(
        "tr",
        {},
        ...["Currency", "Orders", "Units", "Revenue", "Average order"].map((text, i) =>
          element("th", { scope: "col", className: i ? "num" : "", textContent: text }),
        ),
      ),
    ),
    element("tbody", {}, ...rows),
  );
  const blob = new Blob([JSON.stringify(summary, null, 2)], { type: "application/json" });
  const save = element("a", {
    href: URL.createObjectURL(blob),
    download: `sales-summary-${summary.date_from}-${summary.date_to}.json`,
    textContent: "Save as JSON",
  });
  const excluded = Object.entries(summary.excluded_orders || {})
    .map(([status, n]) => `${n} ${status}`)
    .join(", ");
  return [
    element("p", {
      className: "done",
      textContent:
        `Answered at once: ${count(summary.orders)} orders, ${count(summary.units)} units, ` +
        `${day(summary.date_from)} – ${day(summary.date_to)} (${summary.timezone}).`,
    }),
    element("div", { className: "scroll" }, table),
    element("p", { className: "small muted", textContent: excluded ? `Not counted: ${excluded}.` : "" }),
    save,
  ];
}

function jobStatus(job) {
  const bar = element("progress", { max: 100, value: job.progress ?? 0 });
  bar.setAttribute("aria-label", "Report progress");
  const parts = [
    element("p", {
      className: "job-status",
      textContent: `Job ${job.job_id}: ${job.status}${job.progress ? ` (${job.progress} %)` : ""}` +
        (job.attempts > 1 ? `, attempt ${job.attempts}` : ""),
    }),
    bar,
  ];
  if (job.status === "succeeded" && job.result) {
    parts.push(
      element(
        "p",
        {},
        element("a", {
          href: job.result.url,
          className: "download",
          rel: "noopener noreferrer",
          textContent: `Download ${KINDS[job.kind] || job.kind} (${job.params.format.toUpperCase()}${job.result_bytes ? `, ${bytes(job.result_bytes)}` : ""})`,
        }),
        element("span", { className: "small muted", textContent: ` link expires ${when(job.result.expires_at)}` }),
      ),
    );
  }
  if (job.status === "failed") {
    parts.push(element("p", { className: "error", textContent: `Failed: ${job.error || job.failure_reason || "no reason given"}` }));
  }
  return parts;
}

async function follow(jobId) {
  following = jobId;
  let wait = 1000;
  while (following === jobId) {
    try {
      const { body: job } = await call("GET", `/reports/${encodeURIComponent(jobId)}`);
      if (following !== jobId) return;
      outcome(...jobStatus(job));
      if (job.status === "succeeded" || job.status === "failed") {
        following = null;
        loadJobs();
        return;
      }
    } catch (error) {
      if (following !== jobId) return;
      outcome(element("p", { className: "error", textContent: `Could not read job ${jobId}: ${readable(error)}` }));
      if (error instanceof ApiError && error.status < 500 && error.status !== 0) {
        following = null;
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 1.5, 5000);
  }
}

async function submit(event) {
  event.preventDefault();
  const form = $("report-form");
  if (!form.reportValidity()) return;
  const button = $("r-submit");
  button.disabled = true;
  following = null;
  outcome(element("p", { className: "muted", textContent: "Requesting…" }));
  try {
    const headers = $("r-async").checked ? { Prefer: "respond-async" } : {};
    const answer = await call("POST", "/reports", { body: requestBody(), headers });
    if (answer.status === 200) {
      outcome(...inlineAnswer(answer.body));
    } else {
      outcome(...jobStatus({ ...answer.body, progress: 0, attempts: 0 }));
      loadJobs();
      follow(answer.body.job_id);
    }
  } catch (error) {
    outcome(element("p", { className: "error", role: "alert", textContent: `The report was not requested: ${readable(error)}` }));
  } finally {
    button.disabled = false;
  }
}

export async function loadJobs() {
  const body = $("jobs");
  try {
    const { body: page } = await call("GET", "/reports?limit=10");
    body.replaceChildren(
      ...page.items.map((job) => {
        const open = element("button", { type: "button", className: "secondary small", textContent: "Show" });
        open.setAttribute("aria-label", `Show job ${job.job_id}`);
        open.addEventListener("click", () => follow(job.job_id));
        return element(
          "tr",
          {},
          element("td", { textContent: when(job.created_at) }),
          element("td", { textContent: KINDS[job.kind] || job.kind }),
          element("td", { textContent: `${day(job.params.from)} – ${day(job.params.to)}` }),
          element("td", { textContent: (job.params.format || "").toUpperCase() }),
          element("td", { className: `status ${job.status}`, textContent: job.status }),
          element("td", {}, open),
        );
      }),
    );
    if (!page.items.length) {
      body.replaceChildren(element("tr", {}, element("td", { colSpan: 6, className: "muted", textContent: "No report jobs yet." })));
    }
  } catch (error) {
    body.replaceChildren(element("tr", {}, element("td", { colSpan: 6, className: "error", textContent: `Could not list jobs: ${readable(error)}` })));
  }
}

export function initReports() {
  loadJobs();
  if (started) return;
  started = true;
  $("r-kind").addEventListener("change", filtersApply);
  $("report-form").addEventListener("submit", submit);
  $("jobs-refresh").addEventListener("click", loadJobs);
  filtersApply();
}
