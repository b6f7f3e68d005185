// bedside: keep the Now page current without a reload (polls the JSON API every few seconds),
// auto-submit the room picker, tick the reading's age. No inline scripts (CSP).
(function () {
  "use strict";
  var POLL_MS = 3000;

  function ageWords(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min ago";
    return Math.floor(s / 86400) + " days ago";
  }

  function setupRoomPicker() {
    var select = document.getElementById("room-select");
    if (select) select.addEventListener("change", function () { select.form.submit(); });
  }

  function setupLive() {
    var live = document.getElementById("live");
    if (!live || !window.fetch) return;
    var busy = false;
    var offset = 0; // server clock minus browser clock, from the reading's age

    function refresh() {
      fetch(live.dataset.src, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) { live.innerHTML = html; })
        .catch(function () {})
        .then(function () { busy = false; });
    }

    function poll() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(live.dataset.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (cur) {
          if (cur.reading) offset = Date.now() - (Date.parse(cur.reading.ts) + cur.reading.age_s * 1000);
          if (cur.version !== live.dataset.version) {
            live.dataset.version = cur.version;
            refresh();
          } else {
            busy = false;
          }
        })
        .catch(function () { busy = false; });
    }

    function tick() {
      var age = document.getElementById("age");
      if (age && age.dataset.ts) {
        age.textContent = ageWords((Date.now() - offset - Number(age.dataset.ts)) / 1000);
      }
    }
    setInterval(poll, POLL_MS);
    setInterval(tick, 1000);
    document.addEventListener("visibilitychange", poll);
  }

  // The evidence page while a report is being computed: reload once it is stored.
  function setupReportWait() {
    var marker = document.getElementById("computing");
    if (!marker || !window.fetch) return;
    var timer = setInterval(function () {
      fetch(marker.dataset.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (ev) {
          if (!ev.computing) { clearInterval(timer); window.location.reload(); }
        })
        .catch(function () {});
    }, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupRoomPicker();
    setupLive();
    setupReportWait();
  });
})();
