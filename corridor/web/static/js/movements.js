// The movement board: every movement of the organisation by status, with its SOP evaluation (each rule met
// or what is missing) and its route's risk; buttons for the next steps the workflow allows.

import { api, el, fmtDateTime, showError, t, toast } from "./core.js";

const COLUMNS = ["draft", "submitted", "approved", "acknowledged", "under_way", "completed", "rejected", "cancelled"];
const NEXT = {
  draft: ["submitted", "cancelled"],
  submitted: ["approved", "rejected", "cancelled"],
  approved: ["acknowledged", "cancelled"],
  acknowledged: ["under_way", "cancelled"],
  under_way: ["completed"],
};

async function advance(mv, status) {
  try {
    await api(`/api/v1/movements/${mv.id}/status/${status}`, { method: "POST" });
    toast(t("movements.moved", { route: `${mv.origin} → ${mv.destination}`, status: t(`movement.${status}`) }));
    await main();
  } catch (err) {
    showError(err);
  }
}

async function checkIn(mv) {
  try {
    await api(`/api/v1/movements/${mv.id}/check-in`, { method: "POST" });
    toast(t("movements.checked_in"));
    await main();
  } catch (err) {
    showError(err);
  }
}

function card(mv) {
  const ev = mv.evaluation || {};
  const route = ev.route || {};
  const rules = (ev.rules || []).map((r) =>
    el("li", { class: r.met ? "met" : "missing" }, el("span", { "aria-hidden": "true" }, r.met ? "✓ " : "✗ "),
      el("span", { class: "sr-only" }, r.met ? t("movements.met") : t("movements.not_met")), r.title,
      r.missing && r.missing.length ? el("div", { class: "small" }, `${t("movements.missing")}: ${r.missing.join("; ")}`) : null),
  );
  const verdict = ev.rules
    ? el("p", { class: ev.compliant ? "ok" : "warn" }, ev.compliant ? t("movements.compliant") : t("movements.not_compliant"))
    : el("p", { class: "muted" }, t("movements.not_evaluated"));
  const buttons = (NEXT[mv.status] || []).map((s) =>
    el("button", { type: "button", class: s === "approved" ? "primary" : s === "rejected" || s === "cancelled" ? "danger" : "",
      onclick: () => advance(mv, s), dataset: { action: s } }, t(`movements.to_${s}`)),
  );
  if (mv.status === "under_way") buttons.push(el("button", { type: "button", onclick: () => checkIn(mv) }, t("movements.check_in")));
  return el(
    "article",
    { class: "card movement", dataset: { id: mv.id, status: mv.status }, "aria-label": `${mv.origin} → ${mv.destination}` },
    el("h3", {}, `${mv.origin} → ${mv.destination}`),
    el("p", { class: "muted small" }, `${t(`movement.kind.${mv.kind}`)} · ${fmtDateTime(mv.depart)} · ${t("movements.people", { n: (mv.people || []).length })}`),
    route.rating
      ? el("p", {}, el("span", { class: `risk-badge risk-${route.rating}` }, `${route.rating} ${t(`risk.${route.label}`)}`), " ",
        t("movements.route", { km: route.km, hours: route.hours }),
        route.worst_segment ? el("div", { class: "small" }, t("movements.worst", { road: route.worst_segment.road, between: route.worst_segment.between.join(" – "), rating: route.worst_segment.rating })) : null)
      : null,
    verdict,
    rules.length ? el("ul", { class: "rules" }, ...rules) : null,
    mv.last_check_in ? el("p", { class: "small" }, `${t("movements.last_check_in")}: ${fmtDateTime(mv.last_check_in)}`) : null,
    buttons.length ? el("div", { class: "row wrap" }, ...buttons) : null,
  );
}

async function main() {
  const { data } = await api("/api/v1/movements");
  const board = document.getElementById("board");
  const columns = COLUMNS.filter((c) => data.some((m) => m.status === c));
  board.replaceChildren(
    ...columns.map((c) =>
      el("section", { class: "column", "aria-labelledby": `col-${c}` },
        el("h2", { id: `col-${c}` }, `${t(`movement.${c}`)} (${data.filter((m) => m.status === c).length})`),
        ...data.filter((m) => m.status === c).map(card)),
    ),
  );
  document.getElementById("board-empty").hidden = data.length > 0;
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  showError(err);
  document.body.dataset.ready = "error";
});
