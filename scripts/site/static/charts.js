// A chart's cells carry their meaning in <title>, which a mouse shows on hover. Focus (keyboard) or a tap
// shows it too: the focused or tapped cell's title is written under its chart, where a screen reader reads it.
"use strict";
(() => {
  const show = (event) => {
    const cell = event.target.closest ? event.target.closest("[tabindex]") : null;
    const chart = cell ? cell.closest("figure.chart") : null;
    const title = cell ? cell.querySelector(":scope > title") : null;
    if (chart && title) chart.querySelector(".chart-focus").textContent = title.textContent;
  };
  document.addEventListener("focusin", show);
  document.addEventListener("click", show);
})();
