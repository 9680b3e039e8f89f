(function () {
  var data = JSON.parse(document.getElementById("settings").textContent);
  var page = 100, limit = page;
  var $ = function (id) { return document.getElementById(id); };
  var body = $("body"), shown = $("shown"), more = $("more");
  // Every account's row, from the rows file beside the page (its columns, one list per key).
  var packed = window.relinkSummaryRows;
  if (!packed || packed.token !== data.token) {
    shown.textContent += " (" + data.file + ", beside this page, " +
      (packed ? "is another batch's" : "could not be read") +
      ": the table cannot be sorted or filtered; every account is in summary.csv)";
    return;
  }
  // One object per row, each of the same shape (written out: a browser builds 100,000 such
  // objects in milliseconds, and one key at a time in about a second).
  var c = {}, rows = new Array(data.count);
  packed.rows.keys.forEach(function (key, k) {  // a column of one value: {same: value}
    var column = packed.rows.columns[k];
    c[key] = Array.isArray(column) ? column : new Array(data.count).fill(column.same);
  });
  for (var n = 0; n < data.count; n++) {
    rows[n] = {i: n, a: c.a[n], s: c.s[n], l: c.l[n], c: c.c[n], o: c.o[n], b: c.b[n],
      r: c.r[n], p: c.p[n], k: c.k[n], n: c.n[n], h: c.h[n], t: c.t[n], g: c.g[n],
      x: c.x[n], d: c.d[n], v: c.v[n], z: c.z[n], m: c.m[n], w: c.w[n], e: c.e[n],
      f: c.f[n], q: c.q[n], u: c.u[n]};
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function named(text) {  // a name from elsewhere, isolated: it cannot reorder its neighbours
    var td = el("td");
    td.appendChild(el("bdi", text));
    return td;
  }
  function link(href, text, cls) {
    if (!href || /^[a-z][a-z0-9+.-]*:|^\/\//i.test(href)) return null;
    var a = el("a", text, cls); a.setAttribute("href", href); return a;
  }
  function reasons(r) {
    return Object.keys(r).map(function (k) {
      return k.replace(/_/g, " ") + " " + r[k];
    }).join(", ");
  }
  function dates(r) {
    var td = el("td");
    if (r.e) {
      td.textContent = r.e;
      if (r.f && r.f !== r.e) {
        td.appendChild(document.createElement("br"));
        td.appendChild(el("small", "with the merchant's action: " + r.f));
      }
    } else if (r.q) {
      var none = el("span", "no date"); none.style.color = data.blocked;
      td.appendChild(none); td.appendChild(document.createElement("br"));
      td.appendChild(el("small", r.q));
    } else {
      td.textContent = "-";
    }
    return td;
  }
  function warnings(td, r) {
    if (!r.w.length) return;
    var badge = el("span", "\u26a0 CHECK EXPORT", "verdict"), list = el("ul", null, "warn");
    badge.style.background = data.warning;
    r.w.forEach(function (w) { list.appendChild(el("li", w)); });
    td.appendChild(document.createTextNode(" ")); td.appendChild(badge); td.appendChild(list);
  }
  function row(r) {
    var tr = document.createElement("tr"), badge = el("span", r.l, "verdict");
    badge.style.background = r.c;
    var links = el("td"), found = [link(r.h, "report"), link(r.m, "message"),
      link(r.n, "notebook", "minor")].filter(Boolean);
    found.forEach(function (a, i) {
      if (i) links.appendChild(document.createTextNode(" "));
      links.appendChild(a);
    });
    var cells = data.tickets
      ? [named(r.a), el("td"), named(r.t), named(r.g), el("td", r.d), el("td", r.v),
         el("td", r.b), el("td", r.p), links]
      : [named(r.a), el("td"), el("td", r.o), el("td", r.b), el("td", reasons(r.r)),
         r.u ? dates(r) : el("td", "-"), el("td", r.p), links];
    cells[1].appendChild(badge);
    warnings(cells[1], r);
    if (data.tickets) {
      cells[3].appendChild(document.createElement("br"));
      var linked = el("small", "linked: ");
      linked.appendChild(el("bdi", r.x || "(nothing)"));
      cells[3].appendChild(linked);
    }
    cells.forEach(function (c) { tr.appendChild(c); });
    return tr;
  }
  var sorters = {
    z: function (a, b) { return a.z - b.z || a.i - b.i; },
    b: function (a, b) { return (b.b || 0) - (a.b || 0); },
    o: function (a, b) { return (b.o || 0) - (a.o || 0); },
    a: function (a, b) { return a.a.localeCompare(b.a); },
    k: function (a, b) { return (b.k ? 1 : 0) - (a.k ? 1 : 0) || a.k.localeCompare(b.k); },
    e: function (a, b) {  // dated first, soonest first; then blocked without a date
      return (a.e ? 0 : a.q ? 1 : 2) - (b.e ? 0 : b.q ? 1 : 2) || a.e.localeCompare(b.e);
    }
  };
  function draw() {
    var text = $("f-text").value.toLowerCase(), state = $("f-state").value;
    var reason = $("f-reason").value, kind = $("f-kind").value, warn = $("f-warn").value;
    var found = rows.filter(function (r) {
      return (!text || r.a.toLowerCase().indexOf(text) >= 0) && (!state || r.s === state) &&
        (!reason || r.r[reason]) && (!kind || r.k === kind) &&
        (!warn || (warn === "yes") === (r.w.length > 0));
    });
    found.sort(sorters[$("f-sort").value]);
    var frag = document.createDocumentFragment();
    found.slice(0, limit).forEach(function (r) { frag.appendChild(row(r)); });
    body.replaceChildren(frag);
    shown.textContent = Math.min(limit, found.length) + " of " + found.length +
      (found.length < rows.length ? " (filtered from " + rows.length + ")" : "");
    more.hidden = found.length <= limit;
  }
  ["f-text", "f-state", "f-reason", "f-kind", "f-warn", "f-sort"].forEach(function (id) {
    $(id).addEventListener("input", function () { limit = page; draw(); });
  });
  more.addEventListener("click", function () { limit += page * 5; draw(); });
  document.querySelector(".filters").hidden = false;
  draw();
})();
