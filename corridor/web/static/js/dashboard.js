// The map dashboard: incidents (clustered, styled by type and severity), the risk layer (h3 hexagons),
// the organisation's sites and movements, a timeline that filters by brushing, filters, and a list.

import {
  api, casualties, config, el, fmtDay, RISK_COLOURS, showError, statusBadge, t, tlpBadge, today, TYPE_COLOURS,
  typeLabel,
} from "./core.js";
import { inSelection, selectionLabel, Timeline } from "./timeline.js";

const L = window.L;
const FILTERS = ["since", "until", "event_type", "actor", "province", "status", "tlp", "q"];
const MAX_PAGES = 20;
const state = { incidents: [], selection: null, markers: new Map() };

const map = L.map("map", { center: [30.0, 69.5], zoom: 5, minZoom: 4, maxZoom: 16, zoomSnap: 0.25, keyboard: true });
map.attributionControl.setPrefix(false);
map.createPane("basemap").style.zIndex = 250; // under the risk hexagons and the markers
const clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
const riskLayer = L.layerGroup();
const siteLayer = L.layerGroup();
const movementLayer = L.layerGroup();

function basemap() {
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { maxZoom: 18, attribution: t("map.tiles_attribution") }).addTo(map);
    return Promise.resolve();
  }
  const provinces = api("/ui/basemap/provinces.geojson").then(({ data, response }) => {
    const layer = L.geoJSON(data, {
      style: { color: "#5b6b7b", weight: 1.4, fillColor: "#f4f1ea", fillOpacity: 1 },
      interactive: false,
      pane: "basemap",
    }).addTo(map);
    if (!new URLSearchParams(location.search).has("bbox")) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
    map.attributionControl.addAttribution(response.headers.get("X-Attribution") || "");
    fillProvinces(data.features.map((f) => f.properties.name));
  });
  const districts = api("/ui/basemap/districts.geojson").then(({ data }) => {
    const layer = L.geoJSON(data, { style: { color: "#9aa6b2", weight: 0.6, fill: false },
      interactive: false,
      pane: "basemap",
    });
    const toggle = () => (map.getZoom() >= 6 ? layer.addTo(map) : layer.remove());
    map.on("zoomend", toggle);
    toggle();
  });
  return Promise.allSettled([provinces, districts]);
}

function fillProvinces(names) {
  const sel = document.getElementById("f-province");
  const have = new Set([...sel.options].map((o) => o.value));
  for (const n of [...names].sort()) if (!have.has(n)) sel.append(el("option", { value: n }, n));
  sel.value = new URLSearchParams(location.search).get("province") || "";
}

function severity(rec) {
  const k = rec.killed_total || 0;
  const i = rec.injured_total || 0;
  const score = k + i / 3;
  return score >= 20 ? 4 : score >= 5 ? 3 : score >= 1 ? 2 : 1;
}

function popup(rec) {
  return el(
    "div",
    { class: "popup" },
    el("strong", {}, typeLabel(rec.event_type)),
    el("div", {}, `${fmtDay(rec.date)} · ${rec.place_name || rec.city || rec.district || rec.province || "—"}`),
    el("div", {}, casualties(rec)),
    rec.perpetrator ? el("div", {}, `${t("field.perpetrator")}: ${rec.perpetrator}`) : null,
    el("div", { class: "row" }, statusBadge(rec.status), tlpBadge(rec.tlp)),
    el("a", { href: `/incidents/${rec.id}` }, t("map.open_incident")),
  );
}

function marker(rec) {
  const sev = severity(rec);
  const size = [0, 14, 18, 24, 30][sev];
  const icon = L.divIcon({
    className: `inc inc-${rec.event_type} sev-${sev} st-${rec.status}`,
    iconSize: [size, size],
    html: "",
  });
  const m = L.marker([rec.lat, rec.lon], {
    icon,
    keyboard: true,
    title: `${typeLabel(rec.event_type)} · ${fmtDay(rec.date)} · ${rec.place_name || rec.city || ""}`,
    alt: typeLabel(rec.event_type),
  });
  m.bindPopup(() => popup(rec));
  return m;
}

function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const f of FILTERS) {
    const input = document.querySelector(`#filters [name="${f}"]`);
    if (input && params.has(f)) input.value = params.get(f);
  }
  return params;
}

async function loadIncidents() {
  const params = new URLSearchParams();
  const form = new FormData(document.getElementById("filters"));
  for (const f of FILTERS) {
    const v = form.get(f);
    if (v) params.set(f, v);
  }
  history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
  params.set("limit", "500");
  const items = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    if (cursor) params.set("cursor", cursor);
    const { data } = await api(`/api/v1/incidents?${params}`);
    items.push(...data.items);
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  state.incidents = items;
  state.truncated = Boolean(cursor); // more match than the map draws: the newest are shown
  state.selection = null;
  timeline.selection = null;
  document.getElementById("brush-clear").hidden = true;
  document.getElementById("brush-label").textContent = "";
  timeline.draw(items);
  render();
  return items;
}

function render() {
  clusters.clearLayers();
  const shown = state.incidents.filter((r) => inSelection(r, state.selection));
  const placed = shown.filter((r) => r.lat !== null && r.lon !== null);
  state.markers = new Map();
  for (const rec of placed) {
    const m = marker(rec);
    state.markers.set(rec.id, m);
    clusters.addLayer(m);
  }
  document.getElementById("count").textContent =
    t("map.count", { shown: shown.length, total: state.incidents.length, unplaced: shown.length - placed.length }) +
    (state.truncated ? ` ${t("map.truncated", { max: MAX_PAGES * 500 })}` : "");
  const body = document.querySelector("#incident-table tbody");
  body.replaceChildren(
    ...shown.slice(0, 500).map((r) =>
      el(
        "tr",
        { dataset: { id: r.id } },
        el("td", {}, fmtDay(r.date)),
        el("td", {}, el("span", { class: `swatch inc-${r.event_type}`, "aria-hidden": "true" }), typeLabel(r.event_type)),
        el("td", {}, el("a", { href: `/incidents/${r.id}` }, r.place_name || r.city || r.province || "—")),
        el("td", {}, casualties(r)),
        el("td", {}, r.perpetrator || "—"),
        el("td", {}, statusBadge(r.status)),
        el("td", {}, tlpBadge(r.tlp)),
      ),
    ),
  );
}

async function loadRisk() {
  const until = document.getElementById("f-until").value;
  const note = document.getElementById("risk-note");
  const tryDay = async (day) => (await api(`/api/v1/risk/cells?date=${day}&min_rating=3`)).data;
  let layer;
  try {
    layer = await tryDay(until || today());
  } catch (err) {
    // the model answers up to a year after its last incident: fall back to the latest incident shown
    const latest = state.incidents.map((r) => r.date).filter((d) => d && d.length === 10).sort().pop();
    if (!latest) throw err;
    layer = await tryDay(latest);
  }
  riskLayer.clearLayers();
  L.geoJSON(layer, {
    style: (f) => ({
      color: RISK_COLOURS[f.properties.rating],
      weight: 0.5,
      fillColor: RISK_COLOURS[f.properties.rating],
      fillOpacity: 0.45,
    }),
    onEachFeature: (f, lyr) =>
      lyr.bindTooltip(
        t("risk.tooltip", {
          rating: f.properties.rating,
          label: t(`risk.${f.properties.label}`),
          near: f.properties.near,
          expected: f.properties.expected_attacks_per_year_within_25km,
        }),
      ),
  }).addTo(riskLayer);
  note.textContent = t("risk.as_of", { date: fmtDay(layer.date), cells: layer.features.length });
}

function legend() {
  const ctl = L.control({ position: "bottomright" });
  ctl.onAdd = () => {
    const box = el("div", { class: "legend", role: "group", "aria-label": t("risk.legend") }, el("strong", {}, t("risk.legend")));
    for (const [level, label] of [[1, "minimal"], [2, "low"], [3, "moderate"], [4, "high"], [5, "extreme"]]) {
      box.append(el("div", {}, el("i", { class: `risk-${level}`, "aria-hidden": "true" }), `${level} ${t(`risk.${label}`)}`));
    }
    box.append(el("strong", {}, t("map.types")));
    for (const type of Object.keys(TYPE_COLOURS)) {
      box.append(el("div", {}, el("i", { class: `swatch inc-${type}`, "aria-hidden": "true" }), typeLabel(type)));
    }
    return box;
  };
  return ctl;
}

async function loadOps() {
  const [sites, movements] = await Promise.all([api("/api/v1/sites"), api("/api/v1/movements")]);
  siteLayer.clearLayers();
  for (const s of sites.data) {
    L.marker([s.lat, s.lon], {
      icon: L.divIcon({ className: "site", iconSize: [16, 16], html: "" }),
      title: `${t("map.site")}: ${s.name}`,
      keyboard: true,
    })
      .bindPopup(() => el("div", {}, el("strong", {}, s.name), el("div", {}, `${s.kind} · ${s.security_force || ""}`)))
      .addTo(siteLayer);
    L.circle([s.lat, s.lon], { radius: s.radius_m, color: "#1b4965", weight: 1, fillOpacity: 0.05 }).addTo(siteLayer);
  }
  movementLayer.clearLayers();
  for (const mv of movements.data) {
    if (!mv.route_points || mv.route_points.length < 2) continue;
    L.polyline(mv.route_points, { color: mv.status === "approved" ? "#2a9d8f" : "#1d3557", weight: 4, dashArray: "6 4" })
      .bindPopup(() =>
        el("div", {}, el("strong", {}, `${mv.origin} → ${mv.destination}`), el("div", {}, t(`movement.${mv.status}`)),
          el("a", { href: "/movements" }, t("nav.movements"))),
      )
      .addTo(movementLayer);
  }
}

function fillTypes() {
  const sel = document.getElementById("f-type");
  for (const type of Object.keys(TYPE_COLOURS)) sel.append(el("option", { value: type }, typeLabel(type)));
}

async function fillActors() {
  const { data } = await api("/api/v1/actors");
  const sel = document.getElementById("f-actor");
  for (const a of data) sel.append(el("option", { value: a.name }, a.full_name ? `${a.name} — ${a.full_name}` : a.name));
}

const timeline = new Timeline(document.getElementById("timeline"), (selection) => {
  state.selection = selection;
  document.getElementById("brush-clear").hidden = !selection;
  document.getElementById("brush-label").textContent = selectionLabel(selection);
  render();
});
document.getElementById("brush-clear").addEventListener("click", () => timeline.clear());

document.getElementById("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  loadIncidents().then(() => loadRisk()).catch(showError);
});
document.getElementById("filters").addEventListener("reset", () => {
  setTimeout(() => loadIncidents().then(() => loadRisk()).catch(showError), 0);
});

async function main() {
  fillTypes();
  const params = filtersFromUrl();
  clusters.addTo(map);
  siteLayer.addTo(map);
  movementLayer.addTo(map);
  riskLayer.addTo(map);
  L.control
    .layers(null, {
      [t("map.layer_incidents")]: clusters,
      [t("map.layer_risk")]: riskLayer,
      [t("map.layer_sites")]: siteLayer,
      [t("map.layer_movements")]: movementLayer,
    }, { collapsed: false })
    .addTo(map);
  legend().addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  await Promise.all([basemap(), fillActors().then(() => {
    document.getElementById("f-actor").value = params.get("actor") || "";
  })]);
  await loadIncidents();
  await Promise.all([loadRisk().catch(showError), loadOps().catch(showError)]);
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  showError(err);
  document.body.dataset.ready = "error";
});
