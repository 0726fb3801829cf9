// Colour for the tables' cells, from the text each cell already carries (the pages are Markdown, read on GitHub
// too): the colour repeats the words, never replaces them. Kinds and their words are the renderers' own.
"use strict";
(() => {
  const KINDS = [
    ["none", /^(–|\?|—|not run|not observed|not audited|no CLI)/],
    ["fail", /^(✗|install-failed|import-failed|app-failed|server-failed|timeout|requests-failed|error|refused|failed|no answer|dropped)/],
    ["fork", /^(fork|concurrent: a process|a process per request|\d+ worker processes)/],
    ["good", /^(✓|yes\b|concurrent\b|serves\b)/],
    ["serial", /^(no\b|one at a time)/],
  ];
  const kind = (text) => {
    const said = text.trim().replace(/^`/, "");
    if (/^(ValueError|TypeError|ImportError|AttributeError|OSError)/.test(said)) return "fail";
    const found = KINDS.find(([, words]) => words.test(said));
    return found ? found[0] : null;
  };
  const colour = () => {
    for (const cell of document.querySelectorAll("article table td")) {
      const found = kind(cell.textContent);
      if (found) cell.classList.add(`cell-${found}`);
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", colour);
  else colour();
})();
