/* Map of places mentioned: Leaflet over bundled country borders (no tile server). */
"use strict";
(function () {
  const cfg = JSON.parse(document.getElementById("places-data").textContent);
  const map = L.map("map", { worldCopyJump: true, attributionControl: true }).setView([50, 38], 4);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Borders: Natural Earth (public domain)");
  fetch(cfg.borders, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((topo) => {
      const countries = topojson.feature(topo, topo.objects.countries);
      L.geoJSON(countries, { style: { color: "#8795a8", weight: 0.8, fillColor: "#eef1f5", fillOpacity: 1 } }).addTo(map).bringToBack();
    });
  const markers = cfg.places.map((p) => {
    const m = L.circleMarker([p.lat, p.lon], {
      radius: Math.min(18, 5 + 2 * Math.sqrt(p.mentions + (p.record_calls || []).length)),
      color: p.war_zone ? "#c0392b" : "#2f5fa8", weight: 2, fillOpacity: 0.5,
    }).addTo(map);
    const box = document.createElement("div");
    const title = document.createElement("b");
    title.textContent = p.name;
    box.appendChild(title);
    const records = p.record_calls || [];
    const said = `${p.mentions} mention${p.mentions === 1 ? "" : "s"}`;
    box.appendChild(document.createTextNode(` (${said}${records.length ? `, ${records.length} call record${records.length === 1 ? "" : "s"}` : ""})`));
    const list = document.createElement("div");
    [...new Set([...p.calls, ...records])].sort((a, b) => a - b).forEach((id) => {
      const a = document.createElement("a");
      a.href = cfg.calls_url + id;
      a.textContent = `call ${id}`;
      list.appendChild(a);
      list.appendChild(document.createTextNode(" "));
    });
    box.appendChild(list);
    m.bindPopup(box);
    return m;
  });
  if (markers.length) map.fitBounds(L.featureGroup(markers).getBounds().pad(0.3), { maxZoom: 7 });
  document.querySelectorAll("button.place").forEach((b) => {
    b.addEventListener("click", () => {
      const m = markers[parseInt(b.dataset.index, 10)];
      map.setView(m.getLatLng(), Math.max(map.getZoom(), 6));
      m.openPopup();
    });
  });
})();
