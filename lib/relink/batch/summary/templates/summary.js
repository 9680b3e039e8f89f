"""The summary page's inline assets: the script that sorts, filters and pages its table, and
the HTML template with its style (no network, no external file).
"""

# Sorting, filtering and paging of the table, from the rows embedded as JSON. Text is set with
# textContent (never parsed as HTML); links only to relative paths.
_SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById("rows").textContent);
  var rows = data.rows, page = 100, limit = page;
  var $ = function (id) { return document.getElementById(id); };
  var body = $("body"), shown = $("shown"), more = $("more");
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
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
      ? [el("td", r.a), el("td"), el("td", r.t), el("td", r.g), el("td", r.d), el("td", r.v),
         el("td", r.b), el("td", r.p), links]
      : [el("td", r.a), el("td"), el("td", r.o), el("td", r.b), el("td", reasons(r.r)),
         r.u ? dates(r) : el("td", "-"), el("td", r.p), links];
    cells[1].appendChild(badge);
    warnings(cells[1], r);
    if (data.tickets) {
      cells[3].appendChild(document.createElement("br"));
      cells[3].appendChild(el("small", "linked: " + (r.x || "(nothing)")));
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
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
  color: #222; background: #fafafa; }}
main {{ max-width: 1240px; margin: 0 auto; padding: 1em 1.5em; }}
h1 {{ font-size: 1.5em; margin: .3em 0; }} h2 {{ font-size: 1.2em; margin-top: 1.4em; }}
h3 {{ font-size: 1em; margin: 0 0 .4em; }}
.meta {{ color: #666; font-size: .9em; }}
.cards {{ display: flex; flex-wrap: wrap; gap: .6em; margin: 1em 0; }}
.card {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5em 1em;
  min-width: 8em; }}
.card b {{ display: block; font-size: 1.6em; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
  gap: .8em; }}
figure {{ margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px;
  padding: .5em; }}
figure.wide {{ margin-top: .8em; max-width: 760px; }}
svg {{ width: 100%; height: auto; font-size: 12px; }}
svg .t {{ font-weight: bold; font-size: 13px; }}
.top {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5em 1em; }}
.top ol {{ margin: 0; padding-left: 1.5em; }}
.changes li {{ margin: .2em 0; }} .changes details {{ display: inline; margin-left: .5em; }}
.filters {{ display: flex; flex-wrap: wrap; gap: .4em 1em; margin: .6em 0; }}
.filters label {{ font-size: .9em; }}
.table {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; background: #fff; font-size: .92em; }}
th, td {{ border-bottom: 1px solid #e3e3e3; padding: 4px 6px; text-align: left;
  vertical-align: top; }}
th {{ background: #f0f0f0; position: sticky; top: 0; }}
td {{ overflow-wrap: anywhere; }}
td:nth-child(1) {{ min-width: 9em; max-width: 16em; }}
.warnbox {{ background: #fff4e0; border: 2px solid #b26a00; border-radius: 6px;
  padding: .6em 1em; margin: 1em 0; }}
.warnbox ul {{ margin: .4em 0 0; padding-left: 1.4em; max-height: 14em; overflow-y: auto; }}
ul.warn {{ margin: .3em 0 0; padding-left: 1.1em; color: #8a5200; font-size: .85em; }}
.verdict {{ color: #fff; padding: 1px 6px; border-radius: 4px; font-weight: bold;
  font-size: .85em; white-space: nowrap; }}
a.minor {{ color: #777; font-size: .85em; }}
button {{ margin: .6em 0; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="meta">{generated}</p>
<p>{overview}</p>
{warnings}
{explanation}
<div class="cards">{cards}</div>
{comparison}
<h2>Across the fleet</h2>
{fleet}
{per_account}
{plan}
<h2>Accounts</h2>
{filters}
<p class="meta">Showing <span id="shown">{shown}</span>; every account is in summary.csv and
summary.xlsx.</p>
<div class="table">
<table>
<thead><tr>{header}</tr></thead>
<tbody id="body">
{body}
</tbody>
</table>
</div>
<button id="more" type="button" hidden>Show more</button>
</main>
<script type="application/json" id="rows">{data}</script>
<script>{script}</script>
</body>
</html>
"""
