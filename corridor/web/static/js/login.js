import { api, ApiError, t } from "./core.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const data = new FormData(form);
  try {
    await api("/api/v1/auth/login", {
      method: "POST",
      body: { username: data.get("username"), password: data.get("password") },
    });
    location.assign(form.dataset.next || "/");
  } catch (err) {
    error.textContent = err instanceof ApiError ? err.message : t("error.network");
    error.hidden = false;
    document.getElementById("password").select();
  }
});
