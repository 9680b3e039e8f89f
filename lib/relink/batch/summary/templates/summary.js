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
  packed.rows.keys.forEach(function (key, k) { c[key] = packed.rows.columns[k]; });
  for (var n = 0; n < data.count; n++) {
    rows[n] = {i: n, a: c.a[n], s: c.s[n], l: c.l[n], c: c.c[n], o: c.o[n], b: c.b[n],
      r: c.r[n], p: c.p[n], k: c.k[n], n: c.n[n], h: c.h[n], t: c.t[n], g: c.g[n],
      x: c.x[n], d: c.d[n], v: c.v[n], z: c.z[n], m: c.m[n], w: c.w[n], e: c.e[n],
      f: c.f[n], q: c.q[n], u: c.u[n]};
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
