// Shared by every page: configuration, strings, dates in the user's time zone, the API client (session
// cookie + CSRF header), safe DOM building (text is always set as text, never parsed as HTML), messages.

const node = document.getElementById("corridor-config");
export const config = node ? JSON.parse(node.textContent) : { messages: {}, lang: "en", timezone: "UTC" };

export function t(key, vars = {}) {
  const text = config.messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

export function timezone() {
  return localStorage.getItem("corridor.tz") || config.timezone || "Asia/Karachi";
}

export function fmtDateTime(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(config.lang, { dateStyle: "medium", timeStyle: "short", hourCycle: "h23", timeZone: timezone() })
    .format(new Date(iso));
}

// Incident dates are calendar days (or months, years) in Pakistan: shown at their precision, not shifted.
export function fmtDay(value) {
  if (!value) return "—";
  const [y, m, d] = value.split("-").map(Number);
  const opts = { timeZone: "UTC", year: "numeric" };
  if (m) opts.month = "short";
  if (d) opts.day = "numeric";
  return new Intl.DateTimeFormat(config.lang, opts).format(new Date(Date.UTC(y, (m || 1) - 1, d || 1)));
}

export function today() {
  // the calendar day now in the user's time zone, as YYYY-MM-DD
  return new Intl.DateTimeFormat("en-CA", { timeZone: timezone() }).format(new Date());
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, { method = "GET", body, etag, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = config.csrf || "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (etag) headers["If-Match"] = etag;
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (r.status === 401 && config.page !== "login") {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
    throw new ApiError(401, { detail: t("error.session") });
  }
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(r.status, typeof data === "object" ? data : { detail: data });
  return { data, etag: r.headers.get("ETag"), response: r };
}

// el("a", {href: "/x", class: "b"}, "text", childNode): attributes and children, text always as text nodes
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  const item = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 10000 : 5000);
}

export function showError(err) {
  console.error(err);
  toast(err instanceof ApiError ? `${t("error.prefix")} ${err.message}` : String(err), "error");
}

export const TYPE_COLOURS = {
  suicide_bombing: "#9e0142",
  bombing: "#d53e4f",
  attack_on_facility: "#f46d43",
  armed_assault: "#fdae61",
  targeted_killing: "#5e4fa2",
  kidnapping: "#3288bd",
  hijacking: "#66c2a5",
  threat: "#969696",
  other: "#525252",
};
export const RISK_COLOURS = { 1: "#ffffcc", 2: "#fed976", 3: "#fd8d3c", 4: "#e31a1c", 5: "#800026" };

export function tlpBadge(tlp) {
  return el("span", { class: `tlp tlp-${(tlp || "CLEAR").toLowerCase().replace("+", "-")}` }, `TLP:${tlp || "CLEAR"}`);
}

export function statusBadge(status) {
  return el("span", { class: `status status-${status}` }, t(`status.${status}`));
}

export function casualties(rec) {
  const k = rec.killed_total ?? "?";
  const i = rec.injured_total ?? "?";
  let s = t("casualties.short", { killed: k, injured: i });
  if (rec.killed_foreign || rec.injured_foreign) {
    s += " " + t("casualties.foreign", {
      killed: rec.killed_foreign ?? 0,
      injured: rec.injured_foreign ?? 0,
      nationality: rec.foreign_nationality || t("casualties.foreigners"),
    });
  }
  return s;
}

export function typeLabel(type) {
  return t(`type.${type}`);
}

function wireHeader() {
  const tz = document.getElementById("tz-select");
  if (tz) {
    const current = timezone();
    if (![...tz.options].some((o) => o.value === current)) tz.append(el("option", { value: current }, current));
    tz.value = current;
    tz.addEventListener("change", () => {
      localStorage.setItem("corridor.tz", tz.value);
      location.reload();
    });
  }
  const lang = document.getElementById("lang-select");
  if (lang) {
    lang.addEventListener("change", () => {
      const u = new URL(location.href);
      u.searchParams.set("lang", lang.value);
      location.assign(u.toString());
    });
  }
  const out = document.getElementById("logout");
  if (out) {
    out.addEventListener("click", async () => {
      try {
        await api("/api/v1/auth/logout", { method: "POST" });
      } catch (err) {
        showError(err);
        return;
      }
      location.assign("/login");
    });
  }
  const toggle = document.querySelector(".menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      document.getElementById("nav").classList.toggle("open", !open);
    });
  }
}

wireHeader();
