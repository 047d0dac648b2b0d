// The timeline page of `labs trace` (labs/src/timeline.rs builds the page around it). It draws
// the trace embedded in #trace-data: labtest::record::TraceFile as serde writes it, one event
// {t, n, k, ...} per TraceEvent.
"use strict";
const started = performance.now();
const data = JSON.parse(document.getElementById("trace-data").textContent);
const events = data.events;
const names = data.nodes;
const endNs = Math.max(data.virtual_secs * 1e9, events.length ? events[events.length - 1].t : 1, 1);
const failureNs = data.failure ? data.failure.at_ns : null;

// Lanes: every node that has an event (the test node only for its notes).
const used = new Set(events.map(e => e.n));
if (events.some(e => e.k === "send" && e.to !== undefined)) events.forEach(e => { if (e.to !== undefined) used.add(e.to); });
const lanes = names.map((name, i) => ({ i, name })).filter(l => used.has(l.i));
const laneOf = new Map(lanes.map((l, row) => [l.i, row]));

// RPCs: send, deliver, reply or drop, by id.
const rpcs = new Map();
for (const e of events) {
  if (e.rpc === undefined) continue;
  let r = rpcs.get(e.rpc);
  if (!r) { r = {}; rpcs.set(e.rpc, r); }
  r[e.k] = e;
}
const arrows = [];
for (const [id, r] of rpcs) {
  const s = r.send;
  if (!s) continue;
  const m = s.m || "";
  if (r.deliver) arrows.push({ kind: "request", from: s.n, to: r.deliver.n, t0: s.t, t1: r.deliver.t, m, id });
  if (r.reply && r.deliver) arrows.push({ kind: "reply", from: r.deliver.n, to: s.n, t0: r.deliver.t, t1: r.reply.t, m, id });
  if (r.drop) {
    const to = s.to !== undefined ? s.to : s.n;
    const replyLost = r.drop.why === "reply lost" && r.deliver;
    arrows.push({ kind: "dropped", from: replyLost ? r.deliver.n : s.n, to: replyLost ? s.n : to,
      t0: replyLost ? r.deliver.t : s.t, t1: r.drop.t, m, id, why: r.drop.why });
  }
}
arrows.sort((a, b) => a.t0 - b.t0);

// Raft's roles from the annotations: spans of (term, role) per node; a crash starts "down".
const spans = [];
const state = new Map();
function openSpan(n, t, role, term) {
  const cur = state.get(n);
  if (cur && cur.role === role && cur.term === term) return;
  if (cur) { cur.t1 = t; spans.push(cur); }
  state.set(n, { n, t0: t, t1: endNs, role, term });
}
for (const e of events) {
  if (e.k === "annotation" && e.a === "raft") {
    const m = /term (\d+) (leader|follower|candidate)/.exec(e.text);
    if (!m) continue;
    const term = Number(m[1]), role = m[2], cur = state.get(e.n);
    if (role === "candidate") {
      if (!cur || cur.role === "down" || term > cur.term || (term === cur.term && cur.role !== "leader")) openSpan(e.n, e.t, "candidate", term);
    } else if (role === "follower" && cur && cur.role === "candidate" && cur.term === term) {
      // Still a candidate: a sample cannot tell a candidate from a follower.
    } else {
      openSpan(e.n, e.t, role, term);
    }
  } else if (e.k === "crash") {
    openSpan(e.n, e.t, "down", -1);
  }
}
for (const cur of state.values()) spans.push(cur);

const kinds = {
  rpc: "RPC arrows", dropped: "dropped RPCs", role: "Raft roles", timer: "timers", persist: "persists",
  apply: "applied", log: "log lines", crash: "crashes/restarts", note: "tester notes",
};
const shown = { rpc: true, dropped: true, role: true, timer: false, persist: true, apply: true, log: true, crash: true, note: true };
const shownNodes = new Set(lanes.map(l => l.i));

// Filters.
const kindBox = document.getElementById("kind-filters");
for (const [k, label] of Object.entries(kinds)) {
  const el = document.createElement("label");
  el.innerHTML = `<input type="checkbox" id="kind-${k}" ${shown[k] ? "checked" : ""}> ${label}`;
  el.firstChild.addEventListener("change", ev => { shown[k] = ev.target.checked; render(); });
  kindBox.appendChild(el);
}
const nodeBox = document.getElementById("node-filters");
for (const l of lanes) {
  const el = document.createElement("label");
  el.innerHTML = `<input type="checkbox" id="node-${l.i}" checked> ${esc(l.name)}`;
  el.firstChild.addEventListener("change", ev => { if (ev.target.checked) shownNodes.add(l.i); else shownNodes.delete(l.i); render(); });
  nodeBox.appendChild(el);
}

function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;"); }
function secs(ns) { return (ns / 1e9).toFixed(ns < 1e10 ? 4 : 3) + "s"; }

let view = { t0: 0, t1: endNs };
const LEFT = 90, LANE = 46, TOP = 24;
const chart = document.getElementById("chart");

function render() {
  const width = Math.max(600, chart.clientWidth || window.innerWidth || 1200);
  const visible = lanes.filter(l => shownNodes.has(l.i));
  const row = new Map(visible.map((l, r) => [l.i, r]));
  const height = TOP + visible.length * LANE + 30;
  const span = Math.max(view.t1 - view.t0, 1);
  const x = t => LEFT + (t - view.t0) / span * (width - LEFT - 10);
  const y = n => TOP + row.get(n) * LANE + LANE / 2;
  const inView = t => t >= view.t0 && t <= view.t1;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" id="timeline">`);
  // Axis.
  out.push(`<g class="axis">`);
  for (let i = 0; i <= 10; i++) {
    const t = view.t0 + span * i / 10, xx = x(t);
    out.push(`<line x1="${xx}" y1="${TOP - 6}" x2="${xx}" y2="${height - 24}"/><text x="${xx + 2}" y="${TOP - 10}">${secs(t)}</text>`);
  }
  out.push(`</g>`);
  // Lanes and roles.
  for (const l of visible) {
    const top = TOP + row.get(l.i) * LANE;
    out.push(`<g class="lane" id="lane-${esc(l.name)}"><rect class="lane-bg" x="${LEFT}" y="${top + 4}" width="${width - LEFT - 10}" height="${LANE - 8}"/>`);
    if (shown.role) {
      for (const s of spans) {
        if (s.n !== l.i || s.t1 < view.t0 || s.t0 > view.t1) continue;
        const x0 = Math.max(x(s.t0), LEFT), x1 = Math.min(x(s.t1), width - 10);
        const label = s.role === "down" ? "down" : `${s.role} t${s.term}`;
        out.push(`<rect class="role role-${s.role}" x="${x0}" y="${top + 4}" width="${Math.max(x1 - x0, 0.5)}" height="${LANE - 8}"><title>${esc(l.name)}: ${label} from ${secs(s.t0)}</title></rect>`);
        if (x1 - x0 > 60) out.push(`<text class="role-text" x="${x0 + 3}" y="${top + LANE - 7}">${label}</text>`);
      }
    }
    out.push(`<text class="lane-label" x="6" y="${top + LANE / 2 + 4}">${esc(l.name)}</text></g>`);
  }
  // Events on lanes.
  let count = 0;
  for (const e of events) {
    if (!inView(e.t) || !row.has(e.n)) continue;
    const xx = x(e.t), yy = y(e.n);
    if (e.k === "timer" && shown.timer) out.push(`<line class="timer" x1="${xx}" y1="${yy - 14}" x2="${xx}" y2="${yy - 8}"/>`);
    else if (e.k === "persist" && shown.persist) out.push(`<rect class="persist" x="${xx - 2}" y="${yy + 8}" width="4" height="6"><title>${secs(e.t)} persist: state ${e.b} bytes, snapshot ${e.snap} bytes</title></rect>`);
    else if (e.k === "crash" && shown.crash) out.push(`<g class="crash-mark"><line class="crash" x1="${xx - 6}" y1="${yy - 6}" x2="${xx + 6}" y2="${yy + 6}"/><line class="crash" x1="${xx - 6}" y1="${yy + 6}" x2="${xx + 6}" y2="${yy - 6}"/><title>${secs(e.t)} crash</title></g>`);
    else if (e.k === "restart" && shown.crash) out.push(`<polygon class="restart" points="${xx},${yy - 7} ${xx + 7},${yy} ${xx},${yy + 7}"><title>${secs(e.t)} restart</title></polygon>`);
    else if (e.k === "annotation" && e.a === "apply" && shown.apply) out.push(`<circle class="apply" cx="${xx}" cy="${yy + 14}" r="2.5"><title>${secs(e.t)} ${esc(e.text)}</title></circle>`);
    else if (e.k === "annotation" && e.a === "log" && shown.log) out.push(`<circle class="log" cx="${xx}" cy="${yy - 16}" r="2"><title>${secs(e.t)} ${esc(e.text)}</title></circle>`);
    else if (e.k === "note" && shown.note) out.push(`<g class="note"><line class="note-line" x1="${xx}" y1="${TOP}" x2="${xx}" y2="${height - 24}"/><text class="note-text" x="${xx + 2}" y="${height - 12}">${esc(e.text).slice(0, 60)}</text><title>${secs(e.t)} ${esc(e.text)}</title></g>`);
  }
  // Arrows.
  for (const a of arrows) {
    if (a.t1 < view.t0 || a.t0 > view.t1 || !row.has(a.from) || !row.has(a.to)) continue;
    if (a.kind === "dropped" ? !shown.dropped : !shown.rpc) continue;
    const cls = a.kind === "request" ? "arrow request" : a.kind === "reply" ? "arrow reply" : "arrow dropped";
    const x0 = x(a.t0), y0 = y(a.from), x1 = x(a.t1), y1 = a.kind === "dropped" ? (y(a.from) + y(a.to)) / 2 : y(a.to);
    const what = a.kind === "dropped" ? `dropped (${a.why})` : a.kind;
    out.push(`<line class="${cls}" x1="${x0}" y1="${y0}" x2="${x1}" y2="${y1}"><title>rpc#${a.id} ${esc(a.m)} ${what}: ${secs(a.t0)} to ${secs(a.t1)}</title></line>`);
    if (a.kind === "dropped") out.push(`<g class="drop-x"><line class="drop-x" x1="${x1 - 3}" y1="${y1 - 3}" x2="${x1 + 3}" y2="${y1 + 3}"/><line class="drop-x" x1="${x1 - 3}" y1="${y1 + 3}" x2="${x1 + 3}" y2="${y1 - 3}"/></g>`);
    count++;
  }
  // The failure.
  if (failureNs !== null && failureNs >= view.t0 && failureNs <= view.t1) {
    const xx = x(failureNs);
    const anchor = xx > width - 160 ? `x="${xx - 3}" text-anchor="end"` : `x="${xx + 3}"`;
    out.push(`<g id="failure-marker"><line x1="${xx}" y1="${TOP - 6}" x2="${xx}" y2="${height - 24}"/><text ${anchor} y="${TOP + 8}">failed at ${secs(failureNs)}</text><title>${esc(data.failure.message.split("\n")[0])}</title></g>`);
  }
  out.push(`</svg>`);
  chart.innerHTML = out.join("");
  document.getElementById("count-arrows").textContent = count;
  document.getElementById("view").textContent = `${secs(view.t0)} to ${secs(view.t1)}`;
}

function zoom(factor, centre) {
  const span = view.t1 - view.t0;
  const c = centre === undefined ? view.t0 + span / 2 : centre;
  const next = Math.min(Math.max(span * factor, 1000), endNs);
  view.t0 = Math.max(0, c - (c - view.t0) * next / span);
  view.t1 = Math.min(endNs, view.t0 + next);
  render();
}
chart.addEventListener("wheel", ev => {
  ev.preventDefault();
  const rect = chart.getBoundingClientRect();
  const width = rect.width - LEFT - 10;
  const t = view.t0 + (ev.clientX - rect.left - LEFT) / width * (view.t1 - view.t0);
  zoom(ev.deltaY < 0 ? 0.8 : 1.25, t);
}, { passive: false });
let drag = null;
chart.addEventListener("mousedown", ev => { drag = { x: ev.clientX, t0: view.t0, t1: view.t1 }; chart.style.cursor = "grabbing"; });
window.addEventListener("mouseup", () => { drag = null; chart.style.cursor = "grab"; });
window.addEventListener("mousemove", ev => {
  if (!drag) return;
  const width = chart.clientWidth - LEFT - 10;
  let dt = (drag.x - ev.clientX) / width * (drag.t1 - drag.t0);
  dt = Math.max(-drag.t0, Math.min(dt, endNs - drag.t1));
  view.t0 = drag.t0 + dt; view.t1 = drag.t1 + dt;
  render();
});
chart.addEventListener("mouseover", ev => {
  const t = ev.target.querySelector ? ev.target.querySelector("title") : null;
  if (t) document.getElementById("details").textContent = t.textContent;
});
document.getElementById("zoom-in").onclick = () => zoom(0.5);
document.getElementById("zoom-out").onclick = () => zoom(2);
document.getElementById("fit").onclick = () => { view = { t0: 0, t1: endNs }; render(); };
document.getElementById("to-failure").onclick = () => {
  if (failureNs === null) return;
  const span = Math.max(endNs / 20, 1e6);
  view = { t0: Math.max(0, failureNs - span * 0.8), t1: Math.min(endNs, failureNs + span * 0.2) };
  render();
};
window.addEventListener("resize", render);

document.getElementById("summary").textContent =
  `${data.test}, seed ${data.seed}: ${lanes.length} nodes, ${data.events_total} events, ${secs(endNs)} of virtual time` +
  (data.missing ? ` (${data.missing})` : "");
if (data.failure) document.getElementById("failure-text").textContent = data.failure.message;
document.getElementById("count-events").textContent = events.length;
render();
const took = (performance.now() - started).toFixed(1);
document.getElementById("load-ms").textContent = took;
document.body.dataset.loadMs = took;
document.body.dataset.rendered = "yes";
