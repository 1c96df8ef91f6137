/* mistakelab report: the trace viewer. A unit's detail (calls, answers, steps, events) is
   built from its JSON block when the unit is first opened; the filters and the side-by-side
   comparison read data-* attributes and form values. Text only: never innerHTML.
   The detail's records are keyed by the field names of SCHEMA in report/html/viewer.py. */
(function () {
  "use strict";
  var root = document.getElementById("viewer");
  if (!root) return;
  var byId = function (id) { return document.getElementById(id); };
  // the records' schema, from the page (report/html/viewer.py SCHEMA); a text segment is a
  // row (the bulk of the data), read through its columns' positions
  var SEG = {};
  JSON.parse(byId("viewer-schema").textContent).segment.forEach(function (f, i) { SEG[f] = i; });

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function txt(s) { return document.createTextNode(String(s)); }
  function badge(cls, text) { return el("span", "badge " + cls, text); }
  function verdict(c) {
    if (c === null || c === undefined) return badge("", "ungraded");
    return c ? badge("ok", "right") : badge("wrong", "wrong");
  }
  function dash(v) { return v === null || v === undefined ? "–" : v; }

  function answersTable(answers) {
    var t = el("table", "data answers"), head = el("tr"), body = el("tbody");
    ["answer", "label", "call", "extracted", "how", "verdict", "reason"].forEach(function (h) { head.appendChild(el("th", "", h)); });
    var thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
    answers.forEach(function (a) {
      var tr = el("tr");
      tr.appendChild(el("td", "", a.kind + " " + a.index));
      tr.appendChild(el("td", "", a.label));
      tr.appendChild(el("td", "", dash(a.call)));
      var code = el("td"); code.appendChild(el("code", "", dash(a.extracted))); tr.appendChild(code);
      tr.appendChild(el("td", "", a.method));
      var v = el("td"); v.appendChild(verdict(a.correct)); tr.appendChild(v);
      tr.appendChild(el("td", "muted", a.reason));
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function callNode(c, answers) {
    var index = c.index, msgs = c.messages, prefix = c.prefix, segs = c.segments, steps = c.steps;
    var d = el("div", "call"), head = el("div", "head");
    d.dataset.call = String(index);
    head.appendChild(txt("#" + index + " "));
    head.appendChild(el("span", "purpose", c.purpose));
    head.appendChild(txt(" · " + c.role + " · " + c.kind + " · " + c.model + " · " + c.params + " · " +
                         c.prompt_tokens + "+" + c.completion_tokens + " tokens · " + c.finish));
    if (c.cached) head.appendChild(badge("cached", "cached"));
    if (c.oracle) head.appendChild(badge("oracle", "oracle: gold in the prompt"));
    answers.forEach(function (a) {
      if (a.call !== index) return;
      head.appendChild(badge("", a.kind + " “" + a.label + "”: " + dash(a.extracted)));
      head.appendChild(verdict(a.correct));
    });
    d.appendChild(head);
    var md = el("details", "messages");
    md.appendChild(el("summary", "", "messages (" + msgs.length + ")"));
    msgs.forEach(function (m) {
      if (m.content === null) { md.appendChild(el("div", "msg ref", m.role + ": " + m.same_as)); return; }
      var box = el("div", "msg"); box.appendChild(el("span", "role", m.role)); box.appendChild(el("pre", "txt", m.content));
      md.appendChild(box);
    });
    if (prefix !== null) {
      var pb = el("div", "msg"); pb.appendChild(el("span", "role", "assistant prefix")); pb.appendChild(el("pre", "txt", prefix));
      md.appendChild(pb);
    }
    d.appendChild(md);
    if (c.error) d.appendChild(el("p", "bad", "call failed: " + c.error));
    var pre = el("pre", "txt completion");
    segs.forEach(function (s) {
      if (!s[SEG.cls]) { pre.appendChild(txt(s[SEG.text])); return; }
      var sp = el("span", s[SEG.cls], s[SEG.text]);
      if (s[SEG.step]) sp.dataset.n = s[SEG.step];
      if (s[SEG.title]) sp.title = s[SEG.title];
      pre.appendChild(sp);
    });
    d.appendChild(pre);
    if (steps) {
      var info = el("div", "stepinfo");
      if (steps.checker) {
        info.appendChild(txt(steps.n_steps + " steps, checked by " + steps.checker + ": "));
        if (steps.first_error >= 0) {
          info.appendChild(el("span", "first", "first wrong step " + steps.first_error));
          if (steps.reason) info.appendChild(txt(" — " + steps.reason));
        } else info.appendChild(txt("no wrong step found"));
      }
      if (steps.note) info.appendChild(el("span", "muted", " " + steps.note));
      d.appendChild(info);
    }
    return d;
  }

  function renderUnit(u) {
    if (u.dataset.rendered) return;
    u.dataset.rendered = "1";
    var data = JSON.parse(u.querySelector("script.detail").textContent);
    var body = u.querySelector(".body");
    if (data.error) body.appendChild(el("p", "bad", "error: " + data.error));
    if (data.answers.length) body.appendChild(answersTable(data.answers));
    data.calls.forEach(function (c) { body.appendChild(callNode(c, data.answers)); });
    if (data.events.length) {
      var ul = el("ul", "events");
      data.events.forEach(function (ev) {
        var li = el("li"); li.appendChild(el("b", "", ev.kind));
        Object.keys(ev.fields).forEach(function (k) { li.appendChild(txt(" " + k + "=")); li.appendChild(el("code", "", ev.fields[k])); });
        ul.appendChild(li);
      });
      body.appendChild(ul);
    }
  }
  // "toggle" does not bubble: listen in the capture phase
  root.addEventListener("toggle", function (e) {
    var t = e.target;
    if (t.classList && t.classList.contains("unit") && t.open) renderUnit(t);
  }, true);
  var problems = Array.prototype.map.call(root.querySelectorAll(".problem"), function (el) {
    return {
      el: el, task: el.dataset.task, pid: (el.dataset.pid || "").toLowerCase(),
      units: Array.prototype.map.call(el.querySelectorAll(".unit"), function (u) {
        return { el: u, s: u.dataset.strategy, m: u.dataset.model, ok: u.dataset.ok,
                 ch: u.dataset.change, st: u.dataset.status };
      })
    };
  });
  var ids = ["f-wrong", "f-changed", "f-failed", "f-strategy", "f-task", "f-model", "f-cmp-a", "f-cmp-b",
             "f-differ", "f-search"];

  function value(id) { var el = byId(id); return el ? (el.type === "checkbox" ? el.checked : el.value) : ""; }

  function differs(sel, a, b) {
    // some model answered this problem right with one strategy and wrong with the other
    var oks = {};
    sel.forEach(function (u) { (oks[u.m] = oks[u.m] || {})[u.s === a ? "a" : "b"] = u.ok; });
    return Object.keys(oks).some(function (m) {
      var o = oks[m]; return o.a !== undefined && o.b !== undefined && o.a !== o.b;
    });
  }

  function apply() {
    var t0 = performance.now();
    var wrong = value("f-wrong"), changed = value("f-changed"), failed = value("f-failed");
    var strat = value("f-strategy"), task = value("f-task"), model = value("f-model");
    var a = value("f-cmp-a"), b = value("f-cmp-b"), differ = value("f-differ");
    var q = String(value("f-search")).trim().toLowerCase();
    var cmp = a !== "" && b !== "" && a !== b;
    root.classList.toggle("compare", cmp);
    var pass = function (u) {
      return (!wrong || u.ok === "0") && (!changed || u.ch === "w2r" || u.ch === "r2w") &&
             (!failed || u.st === "failed") && (!model || u.m === model);
    };
    var nu = 0, np = 0;
    problems.forEach(function (p) {
      var shown = 0;
      if ((!task || p.task === task) && (!q || p.pid.indexOf(q) >= 0)) {
        if (cmp) {
          var sel = p.units.filter(function (u) { return (u.s === a || u.s === b) && (!model || u.m === model); });
          var show = sel.some(pass) && (!differ || differs(sel, a, b));
          p.units.forEach(function (u) {
            var vis = show && sel.indexOf(u) >= 0;
            u.el.hidden = !vis;
            u.el.classList.toggle("side-a", vis && u.s === a);
            u.el.classList.toggle("side-b", vis && u.s === b);
            if (vis) shown++;
          });
        } else {
          p.units.forEach(function (u) {
            var vis = pass(u) && (!strat || u.s === strat);
            u.el.hidden = !vis;
            u.el.classList.remove("side-a", "side-b");
            if (vis) shown++;
          });
        }
      }
      p.el.hidden = shown === 0;
      nu += shown;
      if (shown) np++;
    });
    byId("f-count").textContent = nu + " units in " + np + " problems shown";
    root.dataset.filterMs = String(Math.round(performance.now() - t0));
  }

  ids.forEach(function (id) {
    var el = byId(id);
    if (el) el.addEventListener(el.type === "search" || el.type === "text" ? "input" : "change", apply);
  });
  var reset = byId("f-reset");
  if (reset) reset.addEventListener("click", function () {
    ids.forEach(function (id) { var el = byId(id); if (!el) return; if (el.type === "checkbox") el.checked = false; else el.value = ""; });
    apply();
  });
  byId("filters").hidden = false;
  apply();
})();
