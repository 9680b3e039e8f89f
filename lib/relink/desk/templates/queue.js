(function () {
  var body = document.getElementById("tickets");
  if (!body) { return; }
  var state = document.getElementById("state-filter");
  var text = document.getElementById("text-filter");
  document.getElementById("filters").hidden = false;
  function filter() {
    var wanted = state.value, words = text.value.toLowerCase();
    Array.from(body.rows).forEach(function (row) {
      var shown = (!wanted || row.dataset.state === wanted) &&
        (!words || row.textContent.toLowerCase().indexOf(words) >= 0);
      row.hidden = !shown;
    });
  }
  state.addEventListener("change", filter);
  text.addEventListener("input", filter);
  document.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var rows = Array.from(body.rows);
      var down = th.dataset.dir !== "asc"; th.dataset.dir = down ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.sort || a.cells[column].textContent;
        var y = b.cells[column].dataset.sort || b.cells[column].textContent;
        return (x < y ? -1 : x > y ? 1 : 0) * (down ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
