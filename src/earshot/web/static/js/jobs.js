/* Jobs: the case's background jobs, polled once a second while any is queued or running,
   with progress per call and stage, ETA, failures (one line each), cancel and retry. */
"use strict";
(function () {
  const E = window.Earshot;
  const data = JSON.parse(document.getElementById("jobs-data").textContent);
  const list = document.getElementById("jobs-list");
  const open = new Set();
  let timer = null;

  const el = (tag, text, cls) => { const x = document.createElement(tag); if (text != null) x.textContent = text; if (cls) x.className = cls; return x; };
  function eta(seconds) {
    if (seconds == null) return "";
    const s = Math.round(seconds);
    return s < 60 ? `about ${s} s left` : `about ${Math.round(s / 60)} min left`;
  }
  const KIND = { ingest: "Taking in", process: "Processing", watch: "Watching a folder" };

  function card(job) {
    const p = job.progress || {};
    const box = el("section", null, "card job");
    box.id = `job-${job.id}`;
    box.dataset.status = job.status;
    box.setAttribute("aria-label", `job ${job.id}`);
    const h = el("h2", `Job ${job.id} · ${KIND[job.kind] || job.kind} · `);
    const status = el("span", job.status, "job-status");
    h.appendChild(status);
    box.appendChild(h);
    box.appendChild(el("p", `${job.target} — by ${job.operator}, started ${job.started_at.replace("T", " ").slice(0, 19)} UTC${job.attempts > 1 ? `, run ${job.attempts}` : ""}`, "muted"));
    if (p.total) {
      const bar = document.createElement("progress");
      bar.max = p.total; bar.value = p.done || 0;
      bar.setAttribute("aria-label", `job ${job.id} progress`);
      box.appendChild(bar);
      const phase = p.phase === "process" ? "stage runs" : "files";
      box.appendChild(el("p", `${p.done || 0} of ${p.total} ${phase}${job.status === "running" ? ` · ${eta(job.eta_seconds)}` : ""}${p.current ? ` · now ${p.current}` : ""}`, "job-count"));
    } else if (job.status === "queued") {
      box.appendChild(el("p", "Waiting for a worker…", "muted"));
    }
    if (job.cancel_requested && job.status === "running") box.appendChild(el("p", "Cancelling at the next step…", "notice"));
    if (job.message) box.appendChild(el("p", job.message, "job-message"));
    if (p.next_job) {
      const a = el("a", `processing continues as job ${p.next_job}`);
      a.href = `#job-${p.next_job}`;
      const para = el("p"); para.appendChild(a); box.appendChild(para);
    }
    if (job.failures && job.failures.length) {
      box.appendChild(el("h3", `${job.failures.length} failure(s)`));
      const ul = el("ul", null, "failures");
      job.failures.forEach((f) => ul.appendChild(el("li", f)));
      box.appendChild(ul);
    }
    const calls = Object.entries(p.calls || {});
    if (calls.length) {
      const details = el("details");
      details.dataset.job = job.id;
      details.open = open.has(String(job.id));
      details.addEventListener("toggle", () => { if (details.open) open.add(String(job.id)); else open.delete(String(job.id)); });
      details.appendChild(el("summary", `Per ${p.phase === "process" ? "call and stage" : "file"} (${calls.length})`));
      const stages = [...new Set(calls.flatMap(([, c]) => Object.keys(c.stages || {})))];
      const table = el("table", null, "stages");
      const head = el("tr");
      [p.phase === "process" ? "call" : "file", ...stages].forEach((s) => { const th = el("th", s); th.scope = "col"; head.appendChild(th); });
      const thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      const tbody = el("tbody");
      calls.forEach(([key, c]) => {
        const tr = el("tr");
        const first = el("td");
        if (c.call_id) { const a = el("a", c.file || `call ${c.call_id}`); a.href = `${data.case_url}/calls/${c.call_id}`; first.appendChild(a); } else first.textContent = c.file || key;
        tr.appendChild(first);
        stages.forEach((s) => tr.appendChild(el("td", (c.stages || {})[s] || "")));
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      const wrap = el("div", null, "table-wrap"); wrap.appendChild(table);
      details.appendChild(wrap);
      box.appendChild(details);
    }
    if (data.can_manage && job.kind !== "watch") {
      const actions = el("p");
      if ((job.status === "queued" || job.status === "running") && !job.cancel_requested) {
        const b = el("button", "Cancel", "cancel"); b.type = "button";
        b.addEventListener("click", () => act(job.id, "cancel"));
        actions.appendChild(b);
      }
      if (["failed", "cancelled", "interrupted"].includes(job.status)) {
        const b = el("button", "Retry", "retry"); b.type = "button";
        b.addEventListener("click", () => act(job.id, "retry"));
        actions.appendChild(b);
      }
      box.appendChild(actions);
    }
    return box;
  }

  async function act(id, what) {
    const result = await E.api("POST", `${data.api}/jobs/${id}/${what}`);
    if (!result.ok) E.toast(E.errorText(result), "error");
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    let result = null;
    try { result = await E.api("GET", `${data.api}/jobs`); } catch (e) { result = null; }
    const gone = document.getElementById("jobs-login");
    if (result && result.status === 401) { gone.hidden = false; return; } // jobs go on; log in to watch
    if (!result || !result.ok) { timer = setTimeout(refresh, 2000); return; } // a restarting server
    gone.hidden = true;
    const jobs = result.data.slice().sort((a, b) => b.id - a.id);
    document.getElementById("jobs-empty").hidden = jobs.length > 0;
    list.replaceChildren(...jobs.map(card));
    const live = jobs.some((j) => j.status === "queued" || j.status === "running");
    timer = setTimeout(refresh, live ? 1000 : 5000);
  }
  refresh();
})();
