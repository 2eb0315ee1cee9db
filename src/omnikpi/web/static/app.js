// omnikpi: draws the charts a page declares (data-chart) with the vendored ECharts,
// and redraws them when htmx swaps in new content. No other script runs on our pages.
(function () {
  "use strict";

  var charts = [];

  function numberFormat() {
    return new Intl.NumberFormat(document.documentElement.lang || undefined, {
      notation: "compact",
      maximumFractionDigits: 1,
    });
  }

  function cssColor(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function draw(element) {
    if (element.dataset.drawn || typeof window.echarts === "undefined") return;
    var spec = JSON.parse(element.dataset.chart);
    var ticks = numberFormat();
    var chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var item = items[0];
          return item.name + "<br>" + spec.name + ": <b>" + spec.text[item.dataIndex] + "</b>";
        },
      },
      xAxis: {
        type: "category",
        data: spec.labels,
        axisTick: { alignWithLabel: true },
        axisLabel: { hideOverlap: true, color: cssColor("--muted", "#586171") },
        axisLine: { lineStyle: { color: cssColor("--line-strong", "#c3c9d2") } },
      },
      yAxis: {
        type: "value",
        axisLabel: {
          color: cssColor("--muted", "#586171"),
          formatter: function (value) { return ticks.format(value); },
        },
        splitLine: { lineStyle: { color: cssColor("--line", "#dce0e6") } },
      },
      series: [
        {
          type: spec.kind || "bar",
          name: spec.name,
          data: spec.values,
          itemStyle: { color: cssColor("--accent", "#0b5cad"), borderRadius: [3, 3, 0, 0] },
          barMaxWidth: 36,
        },
      ],
    });
    element.dataset.drawn = "true";
    charts.push(chart);
  }

  function drawAll() {
    charts = charts.filter(function (chart) {
      if (chart.getDom().isConnected) return true;
      chart.dispose();
      return false;
    });
    document.querySelectorAll(".chart[data-chart]").forEach(draw);
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (chart) { chart.resize(); });
    }, 100);
  });
  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:after:settle", drawAll);
})();
