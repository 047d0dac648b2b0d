//! A self-contained HTML report of a check (inline CSS and JavaScript, data embedded as JSON;
//! works offline).
//!
//! The page shows every client's operations as bars on a time line (ordinal: the order of
//! calls and returns is exact, distances are not to scale), and per partition the
//! linearization found or the longest linearizable prefix, with the operations that could not
//! come next highlighted. Hovering an operation shows its states before and after.

use serde_json::{Value, json};

use super::checker::{CheckResult, Method, PartitionOutcome};
use super::history::History;
use super::model::Model;

/// Renders the report of `result` (a check of `history` against `model`) as one HTML page.
pub fn render<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    title: &str,
) -> String {
    let ops = history.operations();
    let mut part_of = vec![Value::Null; ops.len()];
    let mut parts = Vec::new();
    for (pi, p) in result.partitions.iter().enumerate() {
        for &o in &p.ops {
            part_of[o] = json!(pi);
        }
        let (kind, seq, stuck, reason): (&str, &[usize], &[usize], Option<String>) =
            match &p.outcome {
                PartitionOutcome::Linearizable { order } => ("linearizable", order, &[], None),
                PartitionOutcome::NotLinearizable {
                    longest_prefix,
                    stuck,
                } => ("not linearizable", longest_prefix, stuck, None),
                PartitionOutcome::Unknown {
                    reason,
                    longest_prefix,
                } => ("unknown", longest_prefix, &[], Some(reason.to_string())),
            };
        let init = model.init();
        let mut state = init.clone();
        let mut steps = Vec::with_capacity(seq.len());
        for &o in seq {
            let op = &ops[o];
            match model.step(&state, &op.input, op.output.as_ref()) {
                Some(s) => state = s,
                None => {
                    // Cannot happen for a prefix the search found; show it rather than panic.
                    steps.push(json!({ "op": o, "after": "(illegal step)" }));
                    continue;
                }
            }
            steps.push(json!({ "op": o, "after": model.describe_state(&state) }));
        }
        let stuck: Vec<Value> = stuck
            .iter()
            .map(|&o| {
                let op = &ops[o];
                let why = match model.step(&state, &op.input, op.output.as_ref()) {
                    None => format!(
                        "its result is impossible in state {}",
                        model.describe_state(&state)
                    ),
                    Some(s) => format!(
                        "possible here (state would become {}), but then no order of the remaining operations works",
                        model.describe_state(&s)
                    ),
                };
                json!({ "op": o, "why": why })
            })
            .collect();
        let (decided_by, findings) = match &p.method {
            Method::LogAnalysis(summary) => ("the log analysis", summary.findings.clone()),
            Method::Search { .. } => ("the general search", Vec::new()),
        };
        parts.push(json!({
            "decided_by": decided_by,
            "findings": findings,
            "verdict": kind,
            "reason": reason,
            "size": p.ops.len(),
            "init": model.describe_state(&init),
            "steps": steps,
            "stuck": stuck,
            "model_steps": p.steps,
        }));
    }
    let op_json: Vec<Value> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            json!({
                "id": i,
                "client": op.client,
                "call": op.call,
                "ret": op.ret,
                "desc": model.describe_operation(&op.input, op.output.as_ref()),
                "partition": part_of[i],
            })
        })
        .collect();
    let data = json!({
        "title": title,
        "verdict": result.verdict.to_string(),
        "elapsed_ms": result.elapsed.as_secs_f64() * 1e3,
        "ops": op_json,
        "partitions": parts,
    });
    // `</` inside a JSON string may be written `<\/`, which keeps `</script>` out of the page.
    let data = data.to_string().replace("</", "<\\/");
    let title_html = escape(title);
    TEMPLATE
        .replace("{{TITLE}}", &title_html)
        .replace("{{DATA}}", &data)
}

/// Escapes `text` for HTML or XML, in text and in quoted attributes alike. Control characters
/// that XML 1.0 forbids (all but tab, newline and carriage return) become `?`. The one escape
/// function of the workspace's pages and reports.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push('?');
            }
            c => out.push(c),
        }
    }
    out
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{TITLE}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 4px 0; }
h2 { font-size: 16px; margin: 18px 0 6px 0; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; font-weight: bold; color: #fff; }
.v-linearizable { background: #2e7d32; }
.v-not-linearizable { background: #c62828; }
.v-unknown { background: #ef6c00; }
.summary { color: #555; margin: 6px 0 12px 0; }
.legend span { display: inline-block; margin-right: 14px; font-size: 13px; }
.swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px; vertical-align: middle; margin-right: 4px; }
#timeline-wrap { overflow: auto; max-height: 62vh; border: 1px solid #ccc; background: #fff; }
#timeline { position: relative; min-width: 100%; }
.client-row { position: relative; height: 26px; border-bottom: 1px solid #eee; }
.client-label { position: sticky; left: 0; z-index: 2; background: #fff; width: 86px; height: 26px; line-height: 26px;
  font-size: 12px; padding-left: 6px; border-right: 1px solid #ddd; display: inline-block; }
.op { position: absolute; top: 4px; height: 18px; border-radius: 3px; background: #90a4ae; font-size: 10px;
  line-height: 18px; overflow: hidden; white-space: nowrap; color: #fff; cursor: default; box-sizing: border-box;
  padding: 0 2px; min-width: 3px; }
.op.op-linearized { background: #43a047; }
.op.op-prefix { background: #1e88e5; }
.op.op-partial { background: #9fa8da; }
.op.op-stuck { background: #e53935; outline: 2px solid #7f0000; z-index: 1; }
.op.op-pending { background: #bdbdbd; }
.op.op-unknown-outcome { background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.35) 0 4px, transparent 4px 8px); }
.op.dim { opacity: 0.18; }
.op.hl { outline: 3px solid #ffb300; z-index: 3; }
.partition { background: #fff; border: 1px solid #ccc; border-radius: 4px; margin: 10px 0; padding: 8px 12px; }
.partition.p-not-linearizable { border-color: #c62828; }
.partition h3 { font-size: 14px; margin: 0 0 6px 0; cursor: pointer; }
.partition ol { margin: 4px 0; padding-left: 28px; font-family: ui-monospace, monospace; font-size: 12px; }
.step { padding: 1px 0; }
.step .state { color: #555; }
.stuck { color: #b71c1c; font-family: ui-monospace, monospace; font-size: 12px; margin: 2px 0 2px 16px; }
.finding { color: #b71c1c; margin: 2px 0; }
.decided { color: #555; margin: 2px 0; }
.stuck b { color: #7f0000; }
#tooltip { position: fixed; display: none; background: #263238; color: #fff; padding: 6px 9px; border-radius: 4px;
  font-size: 12px; font-family: ui-monospace, monospace; max-width: 640px; z-index: 10; pointer-events: none;
  white-space: pre-wrap; word-break: break-all; }
.note { color: #777; font-size: 12px; }
</style>
</head>
<body>
<h1>{{TITLE}}</h1>
<div id="header"></div>
<div class="legend">
  <span><i class="swatch" style="background:#43a047"></i>in the linearization</span>
  <span><i class="swatch" style="background:#1e88e5"></i>in the longest linearizable prefix</span>
  <span><i class="swatch" style="background:#e53935"></i>could not come next</span>
  <span><i class="swatch" style="background:#9fa8da"></i>in a partial prefix (check not finished)</span>
  <span><i class="swatch" style="background:#bdbdbd"></i>not placed</span>
  <span><i class="swatch" style="background:#90a4ae;background-image:repeating-linear-gradient(45deg,rgba(255,255,255,.5) 0 3px,transparent 3px 6px)"></i>outcome unknown (no return)</span>
</div>
<p class="note">Time runs left to right; the axis is ordinal (calls and returns in their exact order, not to scale).
Hover an operation for details; click a partition title to highlight its operations (the first failing partition is highlighted at first).</p>
<div id="timeline-wrap"><div id="timeline"></div></div>
<div id="partitions"></div>
<div id="tooltip"></div>
<script type="application/json" id="lincheck-data">{{DATA}}</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lincheck-data").textContent);
  var ops = data.ops, parts = data.partitions;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Per operation: its role and the states around it.
  var info = ops.map(function () { return { role: "pending", pos: null, before: null, after: null, why: null }; });
  parts.forEach(function (p, pi) {
    var prev = p.init;
    var role = p.verdict === "linearizable" ? "linearized" : p.verdict === "unknown" ? "partial" : "prefix";
    p.steps.forEach(function (s, k) {
      var i = info[s.op];
      i.role = role; i.pos = k + 1; i.before = prev; i.after = s.after; prev = s.after;
    });
    p.stuck.forEach(function (s) { info[s.op].role = "stuck"; info[s.op].why = s.why; info[s.op].before = prev; });
  });
  // Header.
  var header = document.getElementById("header");
  var v = el("span", "verdict v-" + data.verdict.replace(/ /g, "-"), data.verdict);
  v.id = "verdict";
  header.appendChild(v);
  var bad = parts.filter(function (p) { return p.verdict === "not linearizable"; }).length;
  var clientsSet = {};
  ops.forEach(function (o) { clientsSet[o.client] = true; });
  var clients = Object.keys(clientsSet).map(Number).sort(function (a, b) { return a - b; });
  header.appendChild(el("div", "summary", ops.length + " operations, " + clients.length + " clients, " +
    parts.length + " partition(s)" + (bad ? ", " + bad + " not linearizable" : "") +
    "; checked in " + data.elapsed_ms.toFixed(1) + " ms"));
  // Ordinal time axis.
  var times = [];
  ops.forEach(function (o) { times.push(o.call); if (o.ret !== null) times.push(o.ret); });
  times.sort(function (a, b) { return a - b; });
  var rank = {}, r = 0;
  times.forEach(function (t) { if (!(t in rank)) rank[t] = r++; });
  var unit = Math.max(8, Math.min(60, 1400 / Math.max(1, r)));
  var left = 96, width = left + (r + 2) * unit;
  var tl = document.getElementById("timeline");
  tl.style.width = width + "px";
  var bars = [];
  clients.forEach(function (c) {
    var row = el("div", "client-row");
    row.id = "client-" + c;
    row.setAttribute("data-client", c);
    row.appendChild(el("span", "client-label", "client " + c));
    tl.appendChild(row);
    ops.forEach(function (o) {
      if (o.client !== c) return;
      var i = info[o.id];
      var x0 = left + rank[o.call] * unit, x1 = o.ret === null ? width - unit / 2 : left + rank[o.ret] * unit + unit * 0.8;
      var b = el("div", "op op-" + i.role + (o.ret === null ? " op-unknown-outcome" : ""), o.desc);
      b.id = "op-" + o.id;
      b.setAttribute("data-op", o.id);
      b.setAttribute("data-partition", o.partition === null ? "" : o.partition);
      b.style.left = x0 + "px";
      b.style.width = Math.max(3, x1 - x0) + "px";
      row.appendChild(b);
      bars[o.id] = b;
    });
  });
  // Tooltip.
  var tip = document.getElementById("tooltip");
  function describe(id) {
    var o = ops[id], i = info[id];
    var s = "#" + id + "  client " + o.client + "  " + o.desc + "\ncall " + o.call + ", return " +
      (o.ret === null ? "never (outcome unknown)" : o.ret);
    if (o.partition !== null) s += "\npartition " + o.partition;
    if (i.pos !== null) s += "\nstep " + i.pos + (i.role === "linearized" ? " of the linearization" : " of the longest prefix") +
      "\nstate before: " + i.before + "\nstate after:  " + i.after;
    if (i.role === "stuck") s += "\nCOULD NOT COME NEXT after the prefix (state " + i.before + "):\n" + i.why;
    if (i.role === "pending") s += "\nnot placed" + (o.ret === null ? " (never took effect, or after all others)" : "");
    return s;
  }
  function showTip(ev, text) {
    tip.textContent = text; tip.style.display = "block";
    var x = Math.min(ev.clientX + 14, window.innerWidth - 660);
    tip.style.left = Math.max(4, x) + "px"; tip.style.top = (ev.clientY + 14) + "px";
  }
  tl.addEventListener("mousemove", function (ev) {
    var t = ev.target;
    if (t.classList && t.classList.contains("op")) showTip(ev, describe(+t.getAttribute("data-op")));
    else tip.style.display = "none";
  });
  tl.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  // Partitions.
  var pdiv = document.getElementById("partitions");
  var order = parts.map(function (p, i) { return i; });
  var rankOf = { "not linearizable": 0, "unknown": 1, "linearizable": 2 };
  order.sort(function (a, b) { return rankOf[parts[a].verdict] - rankOf[parts[b].verdict] || a - b; });
  pdiv.appendChild(el("h2", null, "Partitions"));
  var selected = null;
  order.forEach(function (pi) {
    var p = parts[pi];
    var box = el("div", "partition p-" + p.verdict.replace(/ /g, "-"));
    box.id = "partition-" + pi;
    var h = el("h3", null, "Partition " + pi + " (" + p.size + " operations, " + p.model_steps + " model steps): ");
    h.appendChild(el("span", "verdict v-" + p.verdict.replace(/ /g, "-"), p.verdict + (p.reason ? " (" + p.reason + ")" : "")));
    h.addEventListener("click", function () {
      selected = selected === pi ? null : pi;
      bars.forEach(function (b) {
        if (!b) return;
        b.classList.toggle("dim", selected !== null && b.getAttribute("data-partition") !== String(selected));
      });
    });
    box.appendChild(h);
    box.appendChild(el("div", "decided", "Decided by " + p.decided_by + "."));
    p.findings.forEach(function (f) {
      box.appendChild(el("div", "finding", "Proof: " + f));
    });
    var title = p.verdict === "linearizable" ? "Linearization:" : "Longest linearizable prefix (" + p.steps.length + " of " + p.size + " operations):";
    box.appendChild(el("div", null, title));
    box.appendChild(el("div", "step state", "initial state: " + p.init));
    var ol = el("ol", "steps");
    p.steps.forEach(function (s) {
      var li = el("li", "step");
      li.setAttribute("data-op", s.op);
      li.appendChild(el("span", null, ops[s.op].desc + "  "));
      li.appendChild(el("span", "state", "→ " + s.after));
      ol.appendChild(li);
    });
    box.appendChild(ol);
    if (p.stuck.length) {
      box.appendChild(el("div", null, "Operations that could not come next:"));
      p.stuck.forEach(function (s) {
        var d = el("div", "stuck");
        d.setAttribute("data-op", s.op);
        d.appendChild(el("b", null, "#" + s.op + " client " + ops[s.op].client + ": " + ops[s.op].desc));
        d.appendChild(el("span", null, " — " + s.why));
        box.appendChild(d);
      });
    }
    [].forEach.call(box.querySelectorAll("[data-op]"), function (e) {
      var id = +e.getAttribute("data-op");
      e.addEventListener("mouseenter", function (ev) { if (bars[id]) bars[id].classList.add("hl"); showTip(ev, describe(id)); });
      e.addEventListener("mouseleave", function () { if (bars[id]) bars[id].classList.remove("hl"); tip.style.display = "none"; });
    });
    pdiv.appendChild(box);
  });
  // Focus on the first failing partition: dim the others, scroll to what could not come next.
  var failing = order.filter(function (pi) { return parts[pi].verdict === "not linearizable"; });
  if (failing.length) {
    document.querySelector("#partition-" + failing[0] + " h3").click();
    var st = parts[failing[0]].stuck;
    var wrap = document.getElementById("timeline-wrap");
    var b = st.length ? bars[st[0].op] : null;
    if (b) {
      wrap.scrollLeft = Math.max(0, b.offsetLeft - wrap.clientWidth / 2);
      wrap.scrollTop = Math.max(0, b.parentNode.offsetTop - wrap.clientHeight / 2);
    }
  }
  document.body.setAttribute("data-rendered", "yes");
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    #[test]
    fn escape_serves_html_and_xml() {
        assert_eq!(
            super::escape("<a href=\"x\">'&'</a>\u{1}\tok\n"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;?\tok\n"
        );
    }
}
