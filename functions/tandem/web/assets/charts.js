// The page's three charts, drawn with Chart.js (window.Chart, served from /assets like the page).

import { bucketLabel, count, money } from "./format.js";

const REVENUE = "#2563eb";
const ORDERS = "#f59e0b";
const BARS = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
const charts = {};

function available() {
  return typeof window.Chart === "function";
}

function draw(id, config) {
  if (charts[id]) {
    charts[id].data = config.data;
    charts[id].options = config.options;
    charts[id].update("none"); // a live refresh redraws in place, without animating every few seconds
    return;
  }
  charts[id] = new window.Chart(document.getElementById(id), config);
}

function common(currency) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
    plugins: {
      legend: { labels: { boxWidth: 12 } },
      tooltip: {
        callbacks: {
          label: (item) => {
            const value = item.raw;
            const shown = item.dataset.money ? money(value, currency) : count(value);
            return `${item.dataset.label}: ${shown}`;
          },
        },
      },
    },
  };
}

export function renderCharts(answer) {
  if (!available()) {
    for (const canvas of document.querySelectorAll("canvas")) {
      canvas.replaceWith(Object.assign(document.createElement("p"), {
        className: "muted",
        textContent: "Charts unavailable: the chart library was not built (make web).",
      }));
    }
    return;
  }
  const { currency, granularity } = answer;
  const base = common(currency);
  draw("chart-series", {
    type: "bar",
    data: {
      labels: answer.series.map((bucket) => bucketLabel(bucket.start, granularity)),
      datasets: [
        {
          type: "line",
          label: `Revenue (${currency})`,
          data: answer.series.map((bucket) => Number(bucket.revenue)),
          borderColor: REVENUE,
          backgroundColor: REVENUE,
          pointRadius: answer.series.length > 60 ? 0 : 2,
          cubicInterpolationMode: "monotone", // never overshoots below zero between buckets
          yAxisID: "revenue",
          money: true,
        },
        {
          type: "bar",
          label: "Orders",
          data: answer.series.map((bucket) => bucket.orders),
          backgroundColor: `${ORDERS}99`,
          yAxisID: "orders",
        },
      ],
    },
    options: {
      ...base,
      scales: {
        revenue: { position: "left", beginAtZero: true, ticks: { callback: (v) => money(v, currency) } },
        orders: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
        x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } },
      },
    },
  });
  for (const dimension of ["channel", "country"]) {
    const rows = answer.breakdowns[dimension] || [];
    draw(`chart-${dimension}`, {
      type: "bar",
      data: {
        labels: rows.map((row) => row.key),
        datasets: [{
          label: `Revenue (${currency})`,
          data: rows.map((row) => Number(row.revenue)),
          backgroundColor: rows.map((_, i) => BARS[i % BARS.length]),
          maxBarThickness: 28,
          money: true,
        }],
      },
      options: {
        ...base,
        indexAxis: "y",
        plugins: { ...base.plugins, legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { callback: (v) => money(v, currency), maxTicksLimit: 5 } } },
      },
    });
  }
}
