// The service worker: static assets from a versioned cache, an offline page for navigations.
// It never stores pages with prices or orders, nor any /api/ answer: only /static/ and /offline.
"use strict";

var VERSION = "v2";
var CACHE = "portal-static-" + VERSION;
var OFFLINE = "/offline";
var PRECACHE = [
  OFFLINE,
  "/static/css/app.css",
  "/static/css/catalog.css",
  "/static/css/orders.css",
  "/static/css/approvals.css",
  "/static/css/fulfilment.css",
  "/static/js/htmx.min.js",
  "/static/js/app.js",
  "/static/js/catalog.js",
  "/static/js/scan.js",
  "/static/icons/sprite.svg",
  "/static/icons/icon.svg",
  "/static/icons/icon-192.png",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      // One missing asset must not stop the worker from installing.
      return Promise.all(PRECACHE.map(function (url) {
        return cache.add(new Request(url, { cache: "reload" })).catch(function () {});
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf("portal-static-") === 0 && key !== CACHE;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// A page tells the worker its language; an offline page kept in another is fetched again (with
// the user's cookies, so in their language). Only a language code is taken from the message.
self.addEventListener("message", function (event) {
  var lang = event.data && event.data.offlineLang;
  if (typeof lang !== "string" || !/^[A-Za-z-]{2,10}$/.test(lang)) { return; }
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.match(OFFLINE).then(function (kept) {
      return kept ? kept.text() : "";
    }).then(function (html) {
      if (html.indexOf('<html lang="' + lang + '"') !== -1) { return; }
      return cache.add(new Request(OFFLINE, { cache: "reload" })).catch(function () {});
    });
  }));
});

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.indexOf("/static/") === 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) { return; }

  if (request.mode === "navigate") {
    // Pages always come from the network (they carry prices and orders); offline, a notice.
    event.respondWith(fetch(request).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(OFFLINE); })
        .then(function (page) { return page || Response.error(); });
    }));
    return;
  }

  if (isStatic(url)) {
    // Stale-while-revalidate: instant from the cache, refreshed in the background.
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(request).then(function (hit) {
        var fresh = fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
        if (hit) { fresh.catch(function () {}); return hit; }
        return fresh;
      });
    }));
  }
});
