// omnikpi: draws the charts a page declares (data-chart) with the vendored ECharts,
// opens breakdowns on demand, and submits search forms as people type. Every number and
// label comes formatted from the server; this script only lays them out.
(function () {
  "use strict";

  var charts = [];

  function cssColor(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // Axis ticks in the page's language: 12%, ₩60M / ₩6,017만, 1.2K.
  function tickFormat(spec) {
    var lang = document.documentElement.lang || undefined;
    var options = { notation: "compact", maximumFractionDigits: 1 };
    if (spec.axis === "percent") options = { style: "percent", maximumFractionDigits: 1 };
    if (spec.axis === "currency") {
      options = { style: "currency", currency: spec.currency, notation: "compact", maximumFractionDigits: 1 };
    }
    var format = new Intl.NumberFormat(lang, options);
    return function (value) { return format.format(value); };
  }

  var PALETTE = ["--series-1", "--series-2", "--series-3", "--series-4", "--series-5", "--series-6"];

  function seriesOption(spec, line, index) {
    var kind = spec.kind === "hbar" ? "bar" : spec.kind === "spark" ? "line" : spec.kind;
    var color = cssColor(PALETTE[index % PALETTE.length], "#0b5cad");
    if (line.role === "value") color = cssColor("--accent", "#0b5cad");
    if (line.role === "target") color = cssColor("--target", "#b45309");
    if (line.role === "comparison") color = cssColor("--muted", "#586171");
    var option = {
      type: kind,
      name: line.name,
      data: line.values,
      connectNulls: false,
      itemStyle: { color: color },
      lineStyle: { color: color, width: line.role === "value" ? 2.5 : 2 },
      symbol: kind === "line" ? "circle" : undefined,
      symbolSize: spec.kind === "spark" ? 0 : 5,
      showSymbol: spec.kind !== "spark",
      barMaxWidth: 28,
    };
    if (line.role === "target") option.lineStyle.type = "dashed";
    if (line.role === "comparison") option.lineStyle.type = "dotted";
    if (spec.kind === "spark") {
      option.areaStyle = { color: cssColor("--accent-soft", "#e6f0fa") };
      option.lineStyle.width = 2;
    }
    if (kind === "bar") option.itemStyle.borderRadius = spec.kind === "hbar" ? [0, 3, 3, 0] : [3, 3, 0, 0];
    return option;
  }

  function tooltip(spec) {
    return {
      trigger: "axis",
      confine: true,
      axisPointer: { type: spec.kind === "line" || spec.kind === "spark" ? "line" : "shadow" },
      formatter: function (items) {
        var lines = [items[0].name];
        items.forEach(function (item) {
          var line = spec.series[item.seriesIndex];
          lines.push(item.marker + line.name + ": <b>" + line.text[item.dataIndex] + "</b>");
        });
        return lines.join("<br>");
      },
    };
  }

  function draw(element) {
    if (element.dataset.drawn || typeof window.echarts === "undefined") return;
    var spec = JSON.parse(element.dataset.chart);
    var ticks = tickFormat(spec);
    var muted = cssColor("--muted", "#586171");
    var category = {
      type: "category",
      data: spec.labels,
      axisTick: { alignWithLabel: true },
      axisLabel: { hideOverlap: true, color: muted },
      axisLine: { lineStyle: { color: cssColor("--line-strong", "#c3c9d2") } },
    };
    var value = {
      type: "value",
      scale: spec.kind === "line" && spec.axis !== "percent",
      axisLabel: { color: muted, formatter: ticks },
      splitLine: { lineStyle: { color: cssColor("--line", "#dce0e6") } },
    };
    var option = {
      animation: false,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: tooltip(spec),
      xAxis: spec.kind === "hbar" ? value : category,
      yAxis: spec.kind === "hbar" ? Object.assign({}, category, { inverse: true }) : value,
      series: spec.series.map(function (line, index) { return seriesOption(spec, line, index); }),
    };
    if (spec.kind === "spark") {
      option.grid = { left: 2, right: 2, top: 4, bottom: 2 };
      option.xAxis = { type: "category", data: spec.labels, show: false, boundaryGap: false };
      option.yAxis = { type: "value", show: false, scale: true };
    } else if (spec.series.length > 1) {
      option.legend = { bottom: 0, type: "scroll", textStyle: { color: muted } };
      option.grid.bottom = 36;
    }
    var chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption(option);
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

  // A button that shows a hidden region (aria-controls), loading it from data-src once.
  function toggleDisclosure(button) {
    var region = document.getElementById(button.getAttribute("aria-controls"));
    if (!region) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    region.hidden = !open;
    var slot = region.querySelector(".breakdown-slot") || region;
    if (open && button.dataset.src && !slot.dataset.loaded && window.htmx) {
      slot.dataset.loaded = "true";
      window.htmx.ajax("GET", button.dataset.src, { target: slot, swap: "innerHTML" });
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-disclosure]");
    if (!button) return;
    event.preventDefault();
    toggleDisclosure(button);
  });

  // htmx changes the address without reloading the top bar: the language switch returns
  // to the address shown now, not to the one the page was first loaded with.
  document.addEventListener("submit", function (event) {
    var next = event.target.closest(".langswitch") && event.target.querySelector("[name=next]");
    if (next) next.value = window.location.pathname + window.location.search;
  });

  // Search forms answer as people type (after a pause) or choose.
  var typing = null;
  function submitSoon(element, delay) {
    clearTimeout(typing);
    typing = setTimeout(function () {
      if (element.form) element.form.requestSubmit();
    }, delay);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches("input[data-autosubmit]")) submitSoon(event.target, 300);
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) submitSoon(event.target, 0);
  });

  // On phones the view panel starts folded, so the figures come first.
  function foldViewPanels() {
    if (!window.matchMedia("(max-width: 600px)").matches) return;
    document.querySelectorAll("details[data-collapse-narrow]:not([data-folded])").forEach(function (panel) {
      panel.open = false;
      panel.dataset.folded = "true";
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (chart) { chart.resize(); });
    }, 100);
  });
  document.addEventListener("DOMContentLoaded", function () {
    foldViewPanels();
    drawAll();
  });
  document.addEventListener("htmx:after:settle", function () {
    foldViewPanels();
    drawAll();
  });
})();
