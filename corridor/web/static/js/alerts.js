// The alerts inbox: alerts raised for the organisation's people, sites and movements near new incidents,
// newest first; acknowledge (seen, acting) or check in as safe.

import { api, el, fmtDateTime, showError, t, toast } from "./core.js";

const select = document.getElementById("alert-status");

async function answer(alert, action) {
  try {
    await api(`/api/v1/alerts/${alert.id}/${action}`, { method: "POST" });
    toast(action === "ack" ? t("alerts.acknowledged") : t("alerts.marked_safe"));
    await main();
  } catch (err) {
    showError(err);
  }
}

function item(a) {
  const buttons = [];
  if (a.status === "open" || a.status === "escalated") {
    buttons.push(el("button", { type: "button", class: "primary", dataset: { action: "ack" }, onclick: () => answer(a, "ack") }, t("alerts.ack")));
  }
  if (a.status !== "safe") {
    buttons.push(el("button", { type: "button", dataset: { action: "safe" }, onclick: () => answer(a, "safe") }, t("alerts.safe")));
  }
  return el(
    "li",
    { class: `card alert alert-${a.status}`, dataset: { id: a.id, status: a.status } },
    el("div", { class: "row between" },
      el("strong", {}, t(`alerts.target.${a.target_kind}`, { distance: a.distance_km !== null ? a.distance_km.toFixed(1) : "?" })),
      el("span", { class: `status status-${a.status}` }, t(`alert.${a.status}`))),
    el("p", {}, a.reason || ""),
    el("p", { class: "muted small" }, fmtDateTime(a.created_at), " · ", el("a", { href: `/incidents/${a.incident_id}` }, t("map.open_incident"))),
    buttons.length ? el("div", { class: "row" }, ...buttons) : null,
  );
}

async function main() {
  const q = select.value ? `?status=${encodeURIComponent(select.value)}` : "";
  const { data } = await api(`/api/v1/alerts${q}`);
  document.getElementById("inbox").replaceChildren(...data.map(item));
  document.getElementById("inbox-empty").hidden = data.length > 0;
  document.body.dataset.ready = "true";
}

select.addEventListener("change", () => main().catch(showError));
main().catch((err) => {
  showError(err);
  document.body.dataset.ready = "error";
});
