// Draw every Plotly figure of the page (each a JSON block after its <div class="plot">),
// again after htmx swaps new content in. No inline scripts: the CSP allows only files.
(function () {
  function draw(root) {
    if (typeof Plotly === "undefined") return;
    root.querySelectorAll("script.plot-data").forEach(function (block) {
      var el = block.previousElementSibling;
      if (!el || el.dataset.drawn) return;
      var fig = JSON.parse(block.textContent);
      el.dataset.drawn = "1";
      Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false});
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
