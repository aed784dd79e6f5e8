/* Meterline dashboard: the charts. No inline script (CSP): each page carries its data in
   <script type="application/json"> blocks; figures stay text there (the API's exact decimals)
   and become numbers here only to place pixels. The same values are in each chart's data table. */
(function () {
  "use strict";

  function dayToSeconds(label) {
    return Date.parse(label + "T00:00:00Z") / 1000;
  }

  function usageCharts() {
    var block = document.getElementById("usage-data");
    if (!block || typeof uPlot === "undefined") return;
    var data = JSON.parse(block.textContent);
    var xs = data.days.map(dayToSeconds);
    data.series.forEach(function (s, i) {
      var target = document.querySelector('[data-plot="' + i + '"]');
      if (!target) return;
      var provisioned = Number(s.provisioned);
      var opts = {
        width: Math.max(320, Math.min(target.clientWidth || 1100, 1160)),
        height: 220,
        scales: { x: { time: true } },
        series: [
          {},
          { label: s.name, stroke: "#2454d6", fill: "rgba(36,84,214,0.12)", width: 2,
            paths: uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined },
          { label: "provisioned", stroke: "#b42318", width: 1.5, dash: [6, 4], points: { show: false } }
        ],
        legend: { live: false },
        axes: [{}, { size: 90 }]
      };
      var values = s.values.map(Number);
      var line = xs.map(function () { return provisioned; });
      new uPlot(opts, [xs, values, line], target);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", usageCharts);
  } else {
    usageCharts();
  }
})();
