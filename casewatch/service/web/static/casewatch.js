// Progressive enhancement only: every page works without this file.
"use strict";

// Countdowns: "due in 2 d 4 h" / "overdue by 1 d 3 h", refreshed each minute.
function describe(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
}
function tick() {
  for (const el of document.querySelectorAll("time.countdown")) {
    if (el.dataset.outcome) continue;  // decided: the due time is history
    const due = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(due)) continue;
    const left = due - Date.now();
    const label = el.dataset.label || el.textContent;
    el.dataset.label = label;
    el.innerHTML = "";
    el.append(label + " ");
    const note = document.createElement("small");
    note.textContent = left >= 0 ? `(due in ${describe(left)})` : `(overdue by ${describe(left)})`;
    el.append(note);
  }
}

// The DASH checklist: yes-count and level as it is filled in (the server decides on save).
function dash(form) {
  const high = Number(form.dataset.high), medium = Number(form.dataset.medium);
  const escalation = Number(form.dataset.escalation);
  const order = ["low", "standard", "medium", "high"];
  const update = () => {
    const yes = form.querySelectorAll(".questions input[type=checkbox]:checked").length;
    let level = yes >= high ? "high" : yes >= medium ? "medium" : "standard";
    const police = Number(form.querySelector("#police-incidents").value || 0);
    if (police >= escalation) level = "high";
    const judged = form.querySelector("#judgement-level").value;
    if (judged && order.indexOf(judged) > order.indexOf(level)) level = judged + " (judgement)";
    form.querySelector("#dash-score").textContent = String(yes);
    form.querySelector("#dash-level").textContent = level;
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}

// The ASB matrix: weighted score and level.
function asb(form) {
  const thresholds = JSON.parse(form.dataset.thresholds);
  const update = () => {
    let score = 0;
    for (const box of form.querySelectorAll("input[data-weight]:checked")) score += Number(box.dataset.weight);
    const found = thresholds.find(([, minimum]) => score >= minimum);
    form.querySelector("#asb-score").textContent = String(score);
    form.querySelector("#asb-level").textContent = found ? found[0] : "";
  };
  form.addEventListener("change", update);
  update();
}

// The record form: show only the fields of the chosen kind of event.
function record(form) {
  const select = form.querySelector("#event-type");
  const update = () => {
    for (const set of form.querySelectorAll("fieldset[data-for]")) {
      const shown = set.dataset.for.split(" ").includes(select.value);
      set.hidden = !shown;
      for (const input of set.querySelectorAll("input, select")) input.disabled = !shown;
    }
  };
  select.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 60000);
  const d = document.querySelector("#dash-form"); if (d) dash(d);
  const a = document.querySelector("#asb-form"); if (a) asb(a);
  const r = document.querySelector("#record-form"); if (r) record(r);
});
