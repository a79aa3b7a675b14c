// Holdfast dashboard: draws every chart whose option the server rendered into a
// <script type="application/json" id="…"> referenced by an element's data-chart attribute.
// Points may carry a `link`: clicking them opens the rows behind the number.
(function () {
  "use strict";
  window.holdfastCharts = [];
  function money(v) {
    return Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 });
  }
  function draw(el) {
    var src = document.getElementById(el.getAttribute("data-chart"));
    if (!src) return;
    var option = JSON.parse(src.textContent);
    option.tooltip = option.tooltip || { trigger: "axis" };
    option.yAxis = option.yAxis || { type: "value" };
    if (option.yAxis && !option.yAxis.axisLabel) {
      option.yAxis.axisLabel = { formatter: el.getAttribute("data-unit") === "percent" ? "{value} %" : money };
    }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    chart.on("click", function (p) {
      if (p.data && p.data.link) window.location.href = p.data.link;
    });
    window.holdfastCharts.push(chart);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.querySelectorAll("[data-chart]").forEach(draw);
})();
