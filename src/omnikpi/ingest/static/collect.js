/*! omnikpi event snippet (Apache-2.0). Served by the collector at /collect.js; no CDN.
 *
 *   <script src="https://events.example.com/collect.js"
 *           data-endpoint="https://events.example.com/collect" defer></script>
 *
 * It sends a page_view on every page (with its load time), and whatever the shop tracks:
 *   omnikpi.track("product_view", {product_id: "P0042"});
 *   omnikpi.track("add_to_cart", {product_id: "P0042"});
 *   omnikpi.track("purchase", {order_id: "1001"});
 *   omnikpi.identify("C-42");            // a signed-in customer (the shop's customer id)
 * Optional: <meta name="omnikpi:page-type" content="product"> names the page type; the
 * collector classifies it from the path otherwise.
 */
(function (window, document) {
  "use strict";
  var script = document.currentScript;
  var endpoint = (script && script.getAttribute("data-endpoint")) || "/collect";
  var channel = (script && script.getAttribute("data-channel")) || "web";
  var SESSION_IDLE_MS = 30 * 60 * 1000;
  var MAX_BATCH = 20;
  var queue = [];
  var timer = null;

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function storage(kind) {
    try {
      var store = window[kind];
      store.setItem("omnikpi_probe", "1");
      store.removeItem("omnikpi_probe");
      return store;
    } catch (error) {
      var memory = {};
      return {
        getItem: function (key) { return key in memory ? memory[key] : null; },
        setItem: function (key, value) { memory[key] = String(value); },
        removeItem: function (key) { delete memory[key]; }
      };
    }
  }

  var local = storage("localStorage");

  function visitorId() {
    var id = local.getItem("omnikpi_visitor");
    if (!id) {
      id = newId();
      local.setItem("omnikpi_visitor", id);
    }
    return id;
  }

  function externalReferrer() {
    var referrer = document.referrer || "";
    try {
      return referrer && new URL(referrer).host !== window.location.host ? referrer : null;
    } catch (error) {
      return null;
    }
  }

  // A session ends after 30 idle minutes; its attribution is fixed at its first page.
  function session() {
    var now = Date.now();
    var seen = Number(local.getItem("omnikpi_seen") || 0);
    var current = null;
    try {
      current = JSON.parse(local.getItem("omnikpi_session") || "null");
    } catch (error) {
      current = null;
    }
    if (!current || now - seen > SESSION_IDLE_MS) {
      var params = new URLSearchParams(window.location.search);
      current = {
        id: newId(),
        source: params.get("utm_source"),
        medium: params.get("utm_medium"),
        campaign: params.get("utm_campaign"),
        referrer: externalReferrer()
      };
      local.setItem("omnikpi_session", JSON.stringify(current));
    }
    local.setItem("omnikpi_seen", String(now));
    return current;
  }

  function device() {
    var agent = navigator.userAgent || "";
    if (/iPad|Tablet/i.test(agent)) return "tablet";
    if (/Mobi|Android|iPhone/i.test(agent)) return "mobile";
    return "desktop";
  }

  function pageType() {
    var meta = document.querySelector('meta[name="omnikpi:page-type"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function track(eventType, properties) {
    var current = session();
    var event = {
      event_id: newId(),
      event_type: eventType,
      occurred_at: new Date().toISOString(),
      visitor_id: visitorId(),
      session_id: current.id,
      customer_id: local.getItem("omnikpi_customer"),
      channel: channel,
      device: device(),
      page_type: pageType(),
      page_path: window.location.pathname + window.location.search,
      source: current.source,
      medium: current.medium,
      campaign: current.campaign,
      referrer: current.referrer
    };
    properties = properties || {};
    for (var key in properties) {
      if (Object.prototype.hasOwnProperty.call(properties, key)) event[key] = properties[key];
    }
    for (var field in event) {
      if (event[field] === null || event[field] === undefined) delete event[field];
    }
    queue.push(event);
    if (queue.length >= MAX_BATCH) {
      flush(false);
    } else if (!timer) {
      timer = setTimeout(function () { flush(false); }, 1000);
    }
  }

  // text/plain keeps the request "simple": no CORS preflight from the shop's domain.
  function flush(leaving) {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (!queue.length) return;
    var body = JSON.stringify({ events: queue.splice(0, queue.length) });
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }));
      return;
    }
    window.fetch(endpoint, {
      method: "POST",
      body: body,
      keepalive: true,
      headers: { "Content-Type": "text/plain" }
    });
  }

  function loadMs() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    var entry = entries && entries[0];
    return entry && entry.loadEventEnd > 0 ? Math.round(entry.loadEventEnd) : null;
  }

  function pageView() {
    track("page_view", { load_ms: loadMs() });
  }

  window.addEventListener("pagehide", function () { flush(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  if (document.readyState === "complete") {
    pageView();
  } else {
    window.addEventListener("load", function () { setTimeout(pageView, 0); });
  }

  window.omnikpi = {
    track: track,
    flush: function () { flush(false); },
    identify: function (customerId) {
      if (customerId) local.setItem("omnikpi_customer", String(customerId));
      else local.removeItem("omnikpi_customer");
    }
  };
})(window, document);
