// One incident: the canonical record with why each value was chosen, every source's figures side by side
// (conflicts flagged), the evidence sentences highlighted in each source's text, the analyst's actions
// (verify, retract, edit, merge; each change needs the current version, the ETag) and the history.

import {
  api, casualties, el, fmtDateTime, fmtDay, showError, statusBadge, t, tlpBadge, toast, typeLabel,
} from "./core.js";

const root = document.getElementById("incident");
const id = root.dataset.id;
let current = null;
let etag = null;

const COMPARE = [
  "event_type", "date", "place", "killed_total", "injured_total", "killed_foreign", "injured_foreign",
  "perpetrator", "claimed", "is_new",
];
const EDITABLE = [
  ["event_type", "select"], ["date", "text"], ["date_precision", "select"], ["place_name", "text"],
  ["city", "text"], ["district", "text"], ["province", "text"], ["killed_total", "number"],
  ["injured_total", "number"], ["killed_foreign", "number"], ["injured_foreign", "number"],
  ["foreign_nationality", "text"], ["perpetrator", "text"],
];

function show(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (value === true) return t("value.yes");
  if (value === false) return t("value.no");
  return String(value);
}

function canonical(field) {
  if (field === "place") return current.place_name;
  return current[field];
}

function renderRecord() {
  document.getElementById("inc-title").textContent =
    `${typeLabel(current.event_type)} · ${fmtDay(current.date)} · ${current.place_name || current.city || "—"}`;
  document.getElementById("inc-badges").replaceChildren(statusBadge(current.status), " ", tlpBadge(current.tlp));
  const prov = current.provenance || {};
  const rows = [
    ["field.event_type", typeLabel(current.event_type), prov.event_type],
    ["field.date", `${fmtDay(current.date)} (${show(current.date_precision)})`, prov.date],
    ["field.place", [current.place_name, current.city, current.district, current.province].filter(Boolean).join(", ") || "—", prov.place],
    ["field.coordinates", current.lat !== null ? `${current.lat.toFixed(4)}, ${current.lon.toFixed(4)} (${show(current.geo_precision)})` : "—"],
    ["field.casualties", casualties(current), prov.killed_total],
    ["field.perpetrator", `${show(current.perpetrator)}${current.claimed ? ` (${t("field.claimed")})` : ""}`, prov.perpetrator],
    ["field.confidence", show(current.confidence)],
    ["field.sources", String((current.sources || []).length)],
    ["field.id", current.id],
  ];
  if (current.merged_into) rows.push(["field.merged_into", current.merged_into]);
  document.querySelector("#record tbody").replaceChildren(
    ...rows.map(([key, value, why]) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, t(key)),
        el(
          "td",
          {},
          value,
          why && why.conflict ? el("span", { class: "conflict" }, ` ⚠ ${t("incident.conflict")}`) : null,
          why && why.why ? el("div", { class: "muted small" }, why.why) : null,
        ),
      ),
    ),
  );
}

function renderSources() {
  const table = document.getElementById("sources");
  const mentions = current.mentions || [];
  const head = el(
    "tr",
    {},
    el("th", { scope: "col" }, t("incident.field")),
    el("th", { scope: "col" }, t("incident.canonical")),
    ...mentions.map((m, i) =>
      el("th", { scope: "col" }, `${i + 1}. ${m.document.outlet || m.document.title || m.document.path || "—"}`,
        el("div", { class: "muted small" }, fmtDay((m.document.published || "").slice(0, 10)))),
    ),
  );
  const body = COMPARE.map((field) => {
    const canon = canonical(field);
    const values = mentions.map((m) => m[field]);
    const differs = values.some((v) => v !== null && v !== undefined && String(v) !== String(canon ?? ""));
    return el(
      "tr",
      { class: differs ? "differs" : "" },
      el("th", { scope: "row" }, t(`field.${field}`), differs ? el("span", { class: "conflict" }, " ⚠") : null),
      el("td", {}, field === "event_type" ? typeLabel(canon) : show(canon)),
      ...values.map((v) =>
        el("td", { class: v !== null && v !== undefined && String(v) !== String(canon ?? "") ? "mismatch" : "" },
          field === "event_type" && v ? typeLabel(v) : show(v)),
      ),
    );
  });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  if (!mentions.length) table.replaceChildren(el("caption", {}, t("incident.no_sources")));
}

// The source text with every evidence span wrapped in <mark>; text nodes only, so nothing in a report can
// become markup.
function highlighted(text, evidence) {
  const spans = evidence
    .filter((e) => Number.isInteger(e.start) && Number.isInteger(e.end) && e.end > e.start && e.end <= text.length)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const out = [];
  let pos = 0;
  for (const span of spans) {
    if (span.start < pos) {
      // overlapping spans: name the field on the mark already drawn
      const last = out[out.length - 1];
      if (last && last.tagName === "MARK" && !last.dataset.fields.includes(span.field)) last.dataset.fields += ` ${span.field}`;
      continue;
    }
    out.push(text.slice(pos, span.start));
    const mark = el("mark", { dataset: { fields: span.field }, title: t(`field.${span.field}`) }, text.slice(span.start, span.end));
    out.push(mark);
    pos = span.end;
  }
  out.push(text.slice(pos));
  for (const m of out) if (m instanceof Element) m.title = m.dataset.fields.split(" ").map((f) => t(`field.${f}`)).join(", ");
  return out;
}

async function renderTexts() {
  const box = document.getElementById("texts");
  box.replaceChildren();
  for (const [i, m] of (current.mentions || []).entries()) {
    const section = el("section", { class: "source-text" }, el("h3", {}, `${i + 1}. ${m.document.title || m.document.url || (m.document.path || m.document.id).split("/").pop()}`));
    box.append(section);
    try {
      const { data } = await api(`/api/v1/documents/${m.document.id}`);
      const meta = [data.outlet, data.published ? fmtDay(data.published.slice(0, 10)) : null, data.url].filter(Boolean).join(" · ");
      section.append(el("p", { class: "muted small" }, meta), el("div", { class: "doc" }, ...highlighted(data.text || "", m.evidence || [])));
    } catch (err) {
      section.append(el("p", { class: "error" }, err.message));
    }
  }
}

async function renderHistory() {
  const { data } = await api(`/api/v1/incidents/${id}/history`);
  const list = document.getElementById("history");
  list.replaceChildren(
    ...data.map((h) =>
      el("li", {}, el("strong", {}, fmtDateTime(h.at)), ` · v${h.version} · ${h.action} `,
        h.reason ? el("q", {}, h.reason) : null,
        h.changes && Object.keys(h.changes).length
          ? el("div", { class: "muted small" }, Object.entries(h.changes).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("; "))
          : null),
    ),
  );
  if (!data.length) list.append(el("li", { class: "muted" }, t("incident.no_history")));
}

function buildEditForm() {
  const form = document.getElementById("edit-form");
  if (!form) return;
  form.replaceChildren();
  for (const [field, kind] of EDITABLE) {
    let input;
    if (field === "event_type") {
      input = el("select", { name: field }, ...["bombing", "suicide_bombing", "armed_assault", "targeted_killing", "kidnapping",
        "hijacking", "attack_on_facility", "threat", "other"].map((v) => el("option", { value: v }, typeLabel(v))));
    } else if (field === "date_precision") {
      input = el("select", { name: field }, ...["day", "month", "year"].map((v) => el("option", { value: v }, v)));
    } else {
      input = el("input", { name: field, type: kind, min: kind === "number" ? 0 : null });
    }
    input.value = current[field] ?? "";
    form.append(el("label", {}, t(`field.${field}`), input));
  }
  form.append(
    el("label", { class: "span2" }, t("incident.reason"), el("input", { name: "reason", required: true, minlength: 3 })),
    el("button", { type: "submit", class: "primary" }, t("incident.save")),
  );
}

async function load() {
  const res = await api(`/api/v1/incidents/${id}`);
  current = res.data;
  etag = res.etag;
  renderRecord();
  renderSources();
  buildEditForm();
  root.setAttribute("aria-busy", "false");
  await Promise.all([renderTexts(), renderHistory()]);
  document.body.dataset.ready = "true";
}

async function act(path, body) {
  try {
    const res = await api(path, { method: path.endsWith(id) ? "PATCH" : "POST", body, etag });
    current = res.data;
    etag = res.etag;
    toast(t("incident.saved"));
    await load();
  } catch (err) {
    if (err.status === 412) toast(t("incident.stale"), "error");
    else showError(err);
  }
}

const statusForm = document.getElementById("status-form");
if (statusForm) {
  statusForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const action = ev.submitter ? ev.submitter.value : "verify";
    const reason = document.getElementById("reason").value;
    act(`/api/v1/incidents/${id}/${action}`, { reason }).then(() => {
      document.getElementById("reason").value = "";
    });
  });
  document.getElementById("edit-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(ev.target);
    const body = { reason: data.get("reason") };
    const PLACE = { place_name: "name", city: "city", district: "district", province: "province" };
    let placeChanged = false;
    for (const [field, kind] of EDITABLE) {
      const raw = data.get(field);
      const before = current[field] ?? "";
      if (String(raw) === String(before)) continue;
      if (field in PLACE) placeChanged = true;
      else body[field] = raw === "" ? null : kind === "number" ? Number(raw) : raw;
    }
    if (placeChanged) {
      // a changed place is sent whole, without the old coordinates, so the server geocodes it again
      body.place = {};
      for (const [field, key] of Object.entries(PLACE)) body.place[key] = data.get(field) || null;
    }
    act(`/api/v1/incidents/${id}`, body);
  });
  document.getElementById("merge-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(`/api/v1/incidents/${id}/merge`, {
      other_id: document.getElementById("merge-other").value.trim(),
      reason: document.getElementById("merge-reason").value,
    });
  });
}

load().catch((err) => {
  showError(err);
  root.setAttribute("aria-busy", "false");
  document.body.dataset.ready = "error";
});
