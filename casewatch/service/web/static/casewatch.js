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
  // With dash.yaml counting only the case's incidents, police call-outs do not escalate.
  const escalation = form.dataset.escalationCounts === "case_incidents"
    ? Infinity : Number(form.dataset.escalation);
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

// The ASB case review application: whether each complaint qualifies and whether the
// threshold is met, as the table is filled in. The server decides on save with the same
// rule: reported within one calendar month of the behaviour (not before it), applied
// within six calendar months of the report, one incident counted once.
function wall(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})/.exec(value || "");
  return m ? { y: Number(m[1]), mo: Number(m[2]), d: Number(m[3]), t: m[4] } : null;
}
function addMonths(w, n) {
  const total = w.y * 12 + (w.mo - 1) + n;
  const y = Math.floor(total / 12), mo = (total % 12) + 1;
  const last = new Date(Date.UTC(y, mo, 0)).getUTCDate();  // 31 Jan + 1 month = 29 Feb
  return { y, mo, d: Math.min(w.d, last), t: w.t };
}
function stamp(w) {
  const two = (n) => String(n).padStart(2, "0");
  return `${String(w.y).padStart(4, "0")}-${two(w.mo)}-${two(w.d)}T${w.t}`;
}
function localNow() {
  const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  return now.toISOString().slice(0, 16);
}
function application(form) {
  const threshold = Number(form.dataset.threshold);
  const body = form.querySelector("#complaint-rows tbody");
  const result = form.querySelector("#threshold-result");
  const update = () => {
    const requested = wall(form.querySelector("#application-at").value) || wall(localNow());
    const incidents = new Set();
    let counted = 0, filled = 0;
    for (const row of body.querySelectorAll("tr")) {
      const cell = row.querySelector(".qualifies");
      const behaviour = wall(row.querySelector("[name$='-behaviour_at']").value);
      const reported = wall(row.querySelector("[name$='-reported_at']").value);
      const incident = row.querySelector("[name$='-incident']").value.trim();
      if (!behaviour || !reported) { cell.textContent = ""; continue; }
      filled += 1;
      let counts = stamp(behaviour) <= stamp(reported)
        && stamp(reported) <= stamp(addMonths(behaviour, 1))
        && stamp(requested) <= stamp(addMonths(reported, 6));
      let words = counts ? "yes" : "no";
      if (counts && incident) {
        if (incidents.has(incident)) { counts = false; words = "same incident: counted once"; }
        else incidents.add(incident);
      }
      if (counts) counted += 1;
      cell.textContent = words;
    }
    result.textContent = filled === 0
      ? "Fill in the complaints to see whether the threshold is met."
      : `${counted} of ${filled} complaint(s) qualify; threshold ${threshold}: `
        + (counted >= threshold ? "met — the review is a duty." : "not met by the complaints alone.");
  };
  const add = form.querySelector("#add-complaint");
  add.hidden = false;
  add.addEventListener("click", () => {
    const rows = body.querySelectorAll("tr");
    const next = rows.length + 1;
    const row = rows[rows.length - 1].cloneNode(true);
    row.dataset.row = String(next);
    row.querySelector("th").textContent = String(next);
    for (const input of row.querySelectorAll("input")) {
      input.name = input.name.replace(/^complaint-\d+-/, `complaint-${next}-`);
      input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+/, String(next)));
      input.value = "";
    }
    row.querySelector(".qualifies").textContent = "";
    body.append(row);
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 60000);
  const d = document.querySelector("#dash-form"); if (d) dash(d);
  const a = document.querySelector("#asb-form"); if (a) asb(a);
  const r = document.querySelector("#record-form"); if (r) record(r);
  const c = document.querySelector("#application-form"); if (c) application(c);
});
