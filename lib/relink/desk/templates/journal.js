document.querySelectorAll("th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = document.getElementById("attempts"), rows = Array.from(body.rows);
    var down = th.dataset.dir !== "asc"; th.dataset.dir = down ? "asc" : "desc";
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.sort || a.cells[column].textContent;
      var y = b.cells[column].dataset.sort || b.cells[column].textContent;
      return (x < y ? -1 : x > y ? 1 : 0) * (down ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
