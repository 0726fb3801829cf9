// Filters for the wide tables (the matrix's modes, the grid's Pythons): a box that keeps the rows whose first
// cell holds what is typed (a release, "1.1"), and a switch per column, so a reader can keep only the calls or
// the Pythons they care about. Everything stays in the page: with scripts off, the whole table shows.
"use strict";
(() => {
  const WIDE = 6;
  const build = (table, at) => {
    const headers = [...table.querySelectorAll("thead th")];
    if (headers.length <= WIDE) return;
    const panel = document.createElement("div");
    panel.className = "table-filters";
    const find = document.createElement("input");
    find.type = "search";
    find.placeholder = `Find a ${headers[0].textContent.trim() || "row"} (e.g. 1.1)`;
    find.setAttribute("aria-label", `Keep rows whose ${headers[0].textContent.trim()} holds`);
    const rows = [...table.querySelectorAll("tbody tr")];
    find.addEventListener("input", () => {
      const wanted = find.value.trim();
      for (const row of rows) row.hidden = wanted !== "" && !row.cells[0].textContent.includes(wanted);
    });
    panel.append(find);
    const columns = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = "Columns shown";
    columns.append(legend);
    headers.slice(1).forEach((header, offset) => {
      const index = offset + 1;
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.id = `filter-${at}-${index}`;
      box.addEventListener("change", () => {
        for (const row of table.rows) if (row.cells[index]) row.cells[index].hidden = !box.checked;
      });
      label.append(box, ` ${header.textContent.trim()}`);
      columns.append(label);
    });
    panel.append(columns);
    (table.closest(".table-wrapper") || table).before(panel);
  };
  const start = () => document.querySelectorAll("article table").forEach(build);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
