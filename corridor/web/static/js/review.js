// The review queue: draft incidents, least certain first, with a quick verify (reason required) and a link
// to the full record for anything that needs editing, merging or retracting.

import { api, casualties, config, el, fmtDay, showError, t, tlpBadge, toast, typeLabel } from "./core.js";

async function verify(rec, reason, row) {
  try {
    const first = await api(`/api/v1/incidents/${rec.id}`);
    await api(`/api/v1/incidents/${rec.id}/verify`, { method: "POST", body: { reason }, etag: first.etag });
    toast(t("review.verified", { place: rec.place_name || rec.city || rec.id.slice(0, 8) }));
    row.remove();
  } catch (err) {
    showError(err);
  }
}

function row(rec) {
  const tr = el("tr", { dataset: { id: rec.id } });
  const reason = el("input", { "aria-label": t("incident.reason"), value: t("review.default_reason"), minlength: 3 });
  const actions = el("td", { class: "row" }, el("a", { class: "button", href: `/incidents/${rec.id}` }, t("review.open")));
  if (config.user && config.user.editor) {
    actions.append(reason, el("button", { type: "button", class: "primary", onclick: () => verify(rec, reason.value, tr) }, t("incident.verify")));
  }
  tr.append(
    el("td", {}, fmtDay(rec.date)),
    el("td", {}, typeLabel(rec.event_type)),
    el("td", {}, rec.place_name || rec.city || rec.province || "—"),
    el("td", {}, casualties(rec)),
    el("td", {}, rec.perpetrator || "—"),
    el("td", {}, String((rec.sources || []).length)),
    el("td", {}, rec.confidence !== null ? rec.confidence.toFixed(2) : "—"),
    el("td", {}, tlpBadge(rec.tlp)),
    actions,
  );
  return tr;
}

async function main() {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const q = new URLSearchParams({ status: "draft", limit: "500" });
    if (cursor) q.set("cursor", cursor);
    const { data } = await api(`/api/v1/incidents?${q}`);
    items.push(...data.items);
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  items.sort((a, b) => (a.confidence ?? 0) - (b.confidence ?? 0) || String(b.date).localeCompare(String(a.date)));
  document.querySelector("#queue tbody").replaceChildren(...items.map(row));
  document.getElementById("queue-empty").hidden = items.length > 0;
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  showError(err);
  document.body.dataset.ready = "error";
});
