// omnikpi: draws the charts a page declares (data-chart) with the vendored ECharts,
// opens breakdowns on demand, submits search forms as people type, keeps the view form's
// period choices in step with its grain, and marks what htmx is reloading. Every number
// and label comes formatted from the server; this script only lays them out.
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
    if (line.color) color = line.color; // a series with a colour of its own (segments)
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
    if (spec.stacked) option.stack = "total"; // parts of one whole (segment sizes)
    if (line.role === "target") option.lineStyle.type = "dashed";
    if (line.role === "comparison") option.lineStyle.type = "dotted";
    if (spec.kind === "spark") {
      option.areaStyle = { color: cssColor("--accent-soft", "#e6f0fa") };
      option.lineStyle.width = 2;
    }
    if (kind === "bar") option.itemStyle.borderRadius = spec.kind === "hbar" ? [0, 3, 3, 0] : [3, 3, 0, 0];
    return option;
  }

  // Text as HTML shows it: names come from the data (a store, a campaign, a KPI of a
  // user's catalog) and must never become markup, whatever the Content-Security-Policy.
  var HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function escapeHtml(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) { return HTML_ESCAPES[c]; });
  }

  // The tooltip is HTML: every name and value in it is escaped; only the marker (ECharts'
  // own coloured dot) and our tags are markup.
  function tooltip(spec) {
    return {
      trigger: "axis",
      confine: true,
      axisPointer: { type: spec.kind === "line" || spec.kind === "spark" ? "line" : "shadow" },
      formatter: function (items) {
        var lines = [escapeHtml(items[0].name)];
        items.forEach(function (item) {
          var line = spec.series[item.seriesIndex];
          lines.push(item.marker + escapeHtml(line.name) + ": <b>" + escapeHtml(line.text[item.dataIndex]) + "</b>");
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
    if (open && button.dataset.src && !slot.dataset.part) loadPart(slot, button.dataset.src);
  }

  // A part loaded on demand (data-part: its address) shows "Loading…" until it answers and,
  // if it cannot be loaded, why and a button to try again: never "Loading…" for ever.
  function loadPart(slot, url) {
    slot.dataset.part = url;
    if (window.htmx) window.htmx.ajax("GET", url, { source: slot, target: slot, swap: "innerHTML" });
  }

  function failure(reason) {
    var labels = document.body.dataset;
    var box = document.createElement("div");
    box.className = "loadfail";
    box.setAttribute("role", "alert");
    var message = document.createElement("p");
    message.textContent = labels.loadFailed.replace("{reason}", reason);
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "button button--small";
    retry.dataset.retry = "";
    retry.textContent = labels.loadRetry;
    box.append(message, retry);
    return box;
  }

  // The reason an error page gives (its message), else the status.
  function reasonOf(ctx) {
    var page = new DOMParser().parseFromString(ctx.text || "", "text/html");
    var message = page.querySelector(".error-page__message");
    return message ? message.textContent.trim() : "HTTP " + ctx.response.status;
  }

  function partOf(event) {
    var ctx = event.detail && event.detail.ctx;
    var target = ctx && ctx.target;
    return target instanceof Element && target.matches("[data-part]") ? target : null;
  }

  // A part gets the reason instead of the whole error page (a page shows its error page);
  // a session that has ended opens the login form, which comes back to this page.
  document.addEventListener("htmx:response:error", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.response && ctx.response.status === 401) {
      var here = window.location.pathname + window.location.search;
      window.location.assign("/login?next=" + encodeURIComponent(here));
      return;
    }
    if (partOf(event)) event.detail.ctx.text = failure(reasonOf(event.detail.ctx)).outerHTML;
  });
  document.addEventListener("htmx:error", function (event) {
    var part = partOf(event);
    if (part) part.replaceChildren(failure(document.body.dataset.loadNoAnswer));
  });

  document.addEventListener("click", function (event) {
    var retry = event.target.closest("[data-retry]");
    var part = retry && retry.closest("[data-part]");
    if (part) loadPart(part, part.dataset.part);
    var button = event.target.closest("[data-disclosure]");
    if (!button) return;
    event.preventDefault();
    toggleDisclosure(button);
  });

  // While htmx asks for new content, the region it will replace keeps the old content,
  // marked stale (aria-busy: dimmed under a spinner, see app.css), until the answer is in.
  function requestTarget(event) {
    var ctx = event.detail && event.detail.ctx;
    return ctx && ctx.target instanceof Element ? ctx.target : null;
  }
  document.addEventListener("htmx:before:request", function (event) {
    var target = requestTarget(event);
    if (target) target.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:finally:request", function (event) {
    var target = requestTarget(event);
    if (target) target.removeAttribute("aria-busy");
  });

  // The view form: a relative period shows the days it means today; "custom dates" shows
  // the date fields, which are sent only then (an address has a period or dates, never
  // both). A new grain offers its own periods, of the same kind as the one chosen.
  function showPeriod(select) {
    var option = select.selectedOptions[0];
    var custom = !option || option.dataset.kind === "custom";
    select.form.querySelectorAll("[data-custom-dates]").forEach(function (field) {
      field.hidden = !custom;
      field.querySelectorAll("input").forEach(function (input) { input.disabled = !custom; });
    });
    var dates = document.getElementById(select.getAttribute("aria-describedby"));
    if (!dates) return;
    dates.hidden = custom;
    if (!custom) dates.textContent = option.dataset.dates;
  }

  function offerPeriods(grain) {
    var select = grain.form.querySelector("[data-period-select]");
    var offered = grain.form.querySelector('template[data-period-options="' + grain.value + '"]');
    if (!select || !offered) return;
    var kind = select.selectedOptions[0] ? select.selectedOptions[0].dataset.kind : "custom";
    select.replaceChildren(offered.content.cloneNode(true));
    var same = select.querySelector('option[data-kind="' + kind + '"]') || select.options[0];
    select.value = same.value;
    showPeriod(select);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-period-select]")) showPeriod(event.target);
    if (event.target.matches("select[name=grain]") && event.target.form) offerPeriods(event.target);
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
  // On a phone the menu scrolls sideways: show the current page's entry.
  function showCurrentMenuEntry() {
    var current = document.querySelector('.topnav a[aria-current="page"]');
    var list = current && current.closest("ul");
    if (list && list.scrollWidth > list.clientWidth) {
      list.scrollLeft = current.offsetLeft - (list.clientWidth - current.offsetWidth) / 2;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    showCurrentMenuEntry();
    foldViewPanels();
    drawAll();
  });
  document.addEventListener("htmx:after:settle", function () {
    foldViewPanels();
    drawAll();
  });
})();
