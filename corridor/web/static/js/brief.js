// The daily brief: pick a day, open it as HTML or download the PDF (made by the API, for your organisation).

import { today } from "./core.js";

const date = document.getElementById("brief-date");
const html = document.getElementById("brief-html");
const pdf = document.getElementById("brief-pdf");

function update() {
  const d = date.value || today();
  html.href = `/api/v1/brief?date=${d}&format=html`;
  pdf.href = `/api/v1/brief?date=${d}&format=pdf`;
  pdf.setAttribute("download", `corridor-brief-${d}.pdf`);
}

date.value = new URLSearchParams(location.search).get("date") || today();
date.addEventListener("change", update);
document.getElementById("brief-form").addEventListener("submit", (ev) => ev.preventDefault());
update();
document.body.dataset.ready = "true";
