/* mistakelab report: the trace viewer. A unit's detail (calls, answers, steps, events) is
   built from its JSON block when the unit is first opened; the filters and the side-by-side
   comparison read data-* attributes and form values. Text only: never innerHTML. */
(function () {
  "use strict";
  var root = document.getElementById("viewer");
  if (!root) return;
  var byId = function (id) { return document.getElementById(id); };

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
      tr.appendChild(el("td", "", a[0] + " " + a[1]));
      tr.appendChild(el("td", "", a[2]));
      tr.appendChild(el("td", "", dash(a[3])));
      var code = el("td"); code.appendChild(el("code", "", dash(a[4]))); tr.appendChild(code);
      tr.appendChild(el("td", "", a[5]));
      var v = el("td"); v.appendChild(verdict(a[6])); tr.appendChild(v);
      tr.appendChild(el("td", "muted", a[7]));
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function callNode(c, answers) {
    var index = c[0], msgs = c[12], prefix = c[13], segs = c[14], steps = c[15];
    var d = el("div", "call"), head = el("div", "head");
    d.dataset.call = String(index);
    head.appendChild(txt("#" + index + " "));
    head.appendChild(el("span", "purpose", c[3]));
    head.appendChild(txt(" · " + c[1] + " · " + c[2] + " · " + c[4] + " · " + c[5] + " · " + c[6] + "+" + c[7] +
                         " tokens · " + c[8]));
    if (c[9]) head.appendChild(badge("cached", "cached"));
    if (c[10]) head.appendChild(badge("oracle", "oracle: gold in the prompt"));
    answers.forEach(function (a) {
      if (a[3] !== index) return;
      head.appendChild(badge("", a[0] + " “" + a[2] + "”: " + dash(a[4])));
      head.appendChild(verdict(a[6]));
    });
    d.appendChild(head);
    var md = el("details", "messages");
    md.appendChild(el("summary", "", "messages (" + msgs.length + ")"));
    msgs.forEach(function (m) {
      if (m[1] === null) { md.appendChild(el("div", "msg ref", m[0] + ": " + m[2])); return; }
      var box = el("div", "msg"); box.appendChild(el("span", "role", m[0])); box.appendChild(el("pre", "txt", m[1]));
      md.appendChild(box);
    });
    if (prefix !== null) {
      var pb = el("div", "msg"); pb.appendChild(el("span", "role", "assistant prefix")); pb.appendChild(el("pre", "txt", prefix));
      md.appendChild(pb);
    }
    d.appendChild(md);
    if (c[11]) d.appendChild(el("p", "bad", "call failed: " + c[11]));
    var pre = el("pre", "txt completion");
    segs.forEach(function (s) {
      if (!s[1]) { pre.appendChild(txt(s[0])); return; }
      var sp = el("span", s[1], s[0]);
      if (s[3]) sp.dataset.n = s[3];
      if (s[2]) sp.title = s[2];
      pre.appendChild(sp);
    });
    d.appendChild(pre);
    if (steps) {
      var info = el("div", "stepinfo");
      if (steps[0]) {
        info.appendChild(txt(steps[2] + " steps, checked by " + steps[0] + ": "));
        if (steps[1] >= 0) {
          info.appendChild(el("span", "first", "first wrong step " + steps[1]));
          if (steps[3]) info.appendChild(txt(" — " + steps[3]));
        } else info.appendChild(txt("no wrong step found"));
      }
      if (steps[4]) info.appendChild(el("span", "muted", " " + steps[4]));
      d.appendChild(info);
    }
    return d;
  }

  function renderUnit(u) {
    if (u.dataset.rendered) return;
    u.dataset.rendered = "1";
    var data = JSON.parse(u.querySelector("script.detail").textContent);
    var body = u.querySelector(".body");
    if (data.err) body.appendChild(el("p", "bad", "error: " + data.err));
    if (data.a.length) body.appendChild(answersTable(data.a));
    data.c.forEach(function (c) { body.appendChild(callNode(c, data.a)); });
    if (data.e.length) {
      var ul = el("ul", "events");
      data.e.forEach(function (ev) {
        var li = el("li"); li.appendChild(el("b", "", ev[0]));
        ev[1].forEach(function (kv) { li.appendChild(txt(" " + kv[0] + "=")); li.appendChild(el("code", "", kv[1])); });
        ul.appendChild(li);
      });
      body.appendChild(ul);
    }
  }
  // "toggle" does not bubble: listen in the capture phase
  root.addEventListener("toggle", function (ev) {
    var t = ev.target;
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
