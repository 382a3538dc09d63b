/* Call graph: a small force layout drawn as SVG (phones, persons, calls). */
"use strict";
(function () {
  const box = document.getElementById("graph");
  const svg = document.getElementById("graph-svg");
  const NS = "http://www.w3.org/2000/svg";
  const el = (name, attrs) => {
    const e = document.createElementNS(NS, name);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    return e;
  };
  fetch(box.dataset.url, { credentials: "same-origin" }).then((r) => r.json()).then((g) => {
    if (!g.nodes.length) { document.getElementById("graph-empty").hidden = false; box.hidden = true; return; }
    const W = box.clientWidth || 800;
    const H = Math.max(420, Math.min(700, 120 + 40 * Math.sqrt(g.nodes.length) * 6));
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("height", String(H));
    const byId = new Map();
    g.nodes.forEach((n, i) => {
      const a = (2 * Math.PI * i) / g.nodes.length;
      n.x = W / 2 + (W / 3) * Math.cos(a); n.y = H / 2 + (H / 3) * Math.sin(a); n.vx = 0; n.vy = 0;
      byId.set(n.id, n);
    });
    const links = g.links.filter((l) => byId.has(l.source) && byId.has(l.target))
      .map((l) => ({ ...l, s: byId.get(l.source), t: byId.get(l.target) }));
    for (let iter = 0; iter < 300; iter++) {
      const k = 0.9 * (1 - iter / 300);
      for (const a of g.nodes) for (const b of g.nodes) {
        if (a === b) continue;
        const dx = a.x - b.x, dy = a.y - b.y, d2 = Math.max(25, dx * dx + dy * dy);
        a.vx += (dx / d2) * 900 * k; a.vy += (dy / d2) * 900 * k;
      }
      for (const l of links) {
        const dx = l.t.x - l.s.x, dy = l.t.y - l.s.y, d = Math.max(1, Math.hypot(dx, dy));
        const f = (d - (l.kind === "uses" ? 50 : 120)) * 0.02 * k;
        l.s.vx += (dx / d) * f; l.s.vy += (dy / d) * f; l.t.vx -= (dx / d) * f; l.t.vy -= (dy / d) * f;
      }
      for (const n of g.nodes) {
        n.vx += (W / 2 - n.x) * 0.002; n.vy += (H / 2 - n.y) * 0.002;
        n.x = Math.min(W - 130, Math.max(20, n.x + n.vx)); n.y = Math.min(H - 20, Math.max(20, n.y + n.vy));
        n.vx *= 0.5; n.vy *= 0.5;
      }
    }
    const lines = links.map((l) => {
      const line = el("line", { class: `edge edge-${l.kind}`, "stroke-width": String(l.kind === "call" ? Math.min(6, 1 + l.calls) : 1) });
      const title = el("title"); title.textContent = l.kind === "call" ? `${l.calls} call(s)` : "uses phone";
      line.appendChild(title); svg.appendChild(line); return line;
    });
    const groups = g.nodes.map((n) => {
      const grp = el("g", { class: `node node-${n.kind}`, tabindex: "0" });
      const shape = n.kind === "person" ? el("rect", { x: -8, y: -8, width: 16, height: 16 }) : el("circle", { r: 7 });
      const label = el("text", { x: 11, y: 4 }); label.textContent = n.label;
      grp.appendChild(shape); grp.appendChild(label); svg.appendChild(grp);
      if (n.kind === "person") {
        const go = () => { location.href = box.dataset.personUrl + n.person_id; };
        grp.addEventListener("dblclick", go);
        grp.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
        grp.addEventListener("click", (e) => { if (!grp.dataset.dragged) go(); delete grp.dataset.dragged; });
      }
      let drag = null;
      grp.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY }; grp.setPointerCapture(e.pointerId); });
      grp.addEventListener("pointermove", (e) => {
        if (!drag) return;
        const scale = W / svg.getBoundingClientRect().width;
        n.x += (e.clientX - drag.x) * scale; n.y += (e.clientY - drag.y) * scale;
        drag = { x: e.clientX, y: e.clientY }; grp.dataset.dragged = "1"; draw();
      });
      grp.addEventListener("pointerup", () => { drag = null; });
      return grp;
    });
    function draw() {
      links.forEach((l, i) => {
        lines[i].setAttribute("x1", l.s.x); lines[i].setAttribute("y1", l.s.y);
        lines[i].setAttribute("x2", l.t.x); lines[i].setAttribute("y2", l.t.y);
      });
      g.nodes.forEach((n, i) => groups[i].setAttribute("transform", `translate(${n.x},${n.y})`));
    }
    draw();
  });
})();
