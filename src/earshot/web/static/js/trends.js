/* Trends: share of calls per theme per day/week/month with 95% intervals (Chart.js, bundled). */
"use strict";
(function () {
  const controls = document.getElementById("trend-controls");
  const canvas = document.getElementById("trend-chart");
  const themeSelect = document.getElementById("theme");
  const palette = ["#2f5fa8", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#16a085", "#7f8c8d", "#e84393", "#2c3e50", "#b9770e"];
  let chart = null;
  let data = null;
  const pct = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);

  function draw() {
    const names = Object.keys(data.series);
    document.getElementById("trend-empty").hidden = names.length > 0;
    const chosen = themeSelect.value ? [themeSelect.value] : names;
    const datasets = [];
    chosen.forEach((name) => {
      const i = names.indexOf(name);
      const color = palette[i % palette.length];
      const rows = data.series[name];
      if (chosen.length === 1) {
        datasets.push({ label: "95% interval (high)", data: rows.map((r) => pct(r.ci95[1])), borderColor: "transparent", backgroundColor: color + "33", pointRadius: 0, fill: "+1" });
        datasets.push({ label: "95% interval (low)", data: rows.map((r) => pct(r.ci95[0])), borderColor: "transparent", pointRadius: 0, fill: false });
      }
      // A period with too few calls is greyed (point and the line into it): its share
      // swings on one call; its interval (tooltip, table) says how little it knows.
      const grey = "#b8bec8";
      datasets.push({
        label: name, data: rows.map((r) => pct(r.share)), borderColor: color, backgroundColor: color,
        tension: 0, fill: false, spanGaps: true, yAxisID: "y",
        pointBackgroundColor: rows.map((r) => (r.thin ? grey : color)),
        pointBorderColor: rows.map((r) => (r.thin ? grey : color)),
        segment: { borderColor: (ctx) => (rows[ctx.p1DataIndex].thin ? grey : color), borderDash: (ctx) => (rows[ctx.p1DataIndex].thin ? [4, 4] : undefined) },
      });
    });
    datasets.push({ type: "bar", label: "calls", data: data.calls, yAxisID: "calls", backgroundColor: data.thin.map((t) => (t ? "#e3e6eb" : "#cfd8e6")), order: 10 });
    table(chosen);
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: "line",
      data: { labels: data.periods, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, max: 100, title: { display: true, text: "% of analysed calls" } },
          calls: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "calls" }, ticks: { precision: 0 } },
        },
        plugins: {
          legend: { position: "bottom", labels: { filter: (item) => !item.text.startsWith("95%") } },
          tooltip: {
            callbacks: {
              afterLabel: (ctx) => {
                const rows = data.series[ctx.dataset.label];
                if (!rows) return "";
                const r = rows[ctx.dataIndex];
                const few = r.thin ? ` (under ${data.min_calls} calls: not a trend)` : "";
                return `${r.with_theme} of ${r.calls} calls; 95% CI ${pct(r.ci95[0])}–${pct(r.ci95[1])}%${few}`;
              },
            },
          },
        },
      },
    });
  }

  /* The same figures as a table: every period's calls, and each chosen theme's share
     with its interval; thin periods greyed. */
  function table(chosen) {
    const el = document.getElementById("trend-table");
    const head = document.createElement("tr");
    ["period", "calls", ...chosen].forEach((h) => { const th = document.createElement("th"); th.scope = "col"; th.textContent = h; head.append(th); });
    const body = data.periods.map((period, i) => {
      const tr = document.createElement("tr");
      if (data.thin[i]) { tr.className = "thin"; tr.title = `fewer than ${data.min_calls} calls: the share swings on one call`; }
      const cell = (text) => { const td = document.createElement("td"); td.textContent = text; tr.append(td); };
      cell(period);
      cell(String(data.calls[i]));
      chosen.forEach((name) => {
        const r = data.series[name][i];
        cell(r.share === null ? "–" : `${pct(r.share)} % (${pct(r.ci95[0])}–${pct(r.ci95[1])})`);
      });
      return tr;
    });
    const thead = document.createElement("thead");
    thead.append(head);
    const tbody = document.createElement("tbody");
    tbody.append(...body);
    el.replaceChildren(thead, tbody);
    document.getElementById("trend-min").textContent = String(data.min_calls);
  }

  async function load() {
    const interval = document.getElementById("interval").value;
    const r = await fetch(`${controls.dataset.url}?interval=${encodeURIComponent(interval)}`, { credentials: "same-origin" });
    if (!r.ok) { window.Earshot.toast("Could not load trends.", "error"); return; }
    data = await r.json();
    const keep = themeSelect.value;
    themeSelect.replaceChildren(new Option("all themes", ""), ...Object.keys(data.series).map((t) => new Option(t, t)));
    themeSelect.value = keep in data.series ? keep : "";
    draw();
  }
  document.getElementById("interval").addEventListener("change", load);
  themeSelect.addEventListener("change", draw);
  load();
})();
