// bedside: keep the Now page current without a reload (polls the JSON API every few seconds
// and patches the page in place), auto-submit the room picker, tick the reading's age.
// No inline scripts (CSP).
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

  // Patch `from` to look like `to` while keeping every node that can stay: only changed text
  // and attributes are written, so the focused button keeps focus and a role="alert" banner
  // is not re-inserted (screen readers would announce it again). Children carrying a
  // data-key are matched by key, the others by position and tag.
  function key(node) {
    return node.nodeType === 1 ? node.getAttribute("data-key") : null;
  }

  function sameKind(a, b) {
    return a.nodeType === b.nodeType && a.nodeName === b.nodeName && key(a) === key(b);
  }

  function morphAttributes(from, to) {
    var i, attr;
    for (i = from.attributes.length - 1; i >= 0; i--) {
      attr = from.attributes[i];
      if (!to.hasAttribute(attr.name)) from.removeAttribute(attr.name);
    }
    for (i = 0; i < to.attributes.length; i++) {
      attr = to.attributes[i];
      if (from.getAttribute(attr.name) !== attr.value) from.setAttribute(attr.name, attr.value);
    }
  }

  function morph(from, to) {
    if (from.nodeType !== 1) {
      if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
      return;
    }
    morphAttributes(from, to);
    morphChildren(from, to);
  }

  function morphChildren(from, to) {
    var keyed = {}, wanted = {}, child, next, match, cursor;
    for (child = from.firstChild; child; child = child.nextSibling) {
      if (key(child)) keyed[key(child)] = child;
    }
    for (child = to.firstChild; child; child = child.nextSibling) {
      if (key(child)) wanted[key(child)] = true;
    }
    cursor = from.firstChild;
    child = to.firstChild;
    while (child) {
      next = child.nextSibling;
      // Drop old keyed blocks that are gone (an alert that ended), and loose old nodes in
      // front of a keyed block that stays, so the block is reused where it is, never moved.
      while (cursor && (key(cursor) ? !wanted[key(cursor)] : key(child) && keyed[key(child)])) {
        match = cursor.nextSibling;
        from.removeChild(cursor);
        cursor = match;
      }
      match = key(child) ? keyed[key(child)] : cursor && sameKind(cursor, child) ? cursor : null;
      if (match && match === cursor) {
        morph(match, child);
        cursor = cursor.nextSibling;
      } else if (match) {
        from.insertBefore(match, cursor);
        morph(match, child);
      } else {
        from.insertBefore(child, cursor); // moves it out of the parsed fragment
      }
      child = next;
    }
    while (cursor) {
      next = cursor.nextSibling;
      from.removeChild(cursor);
      cursor = next;
    }
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
        .then(function (html) {
          var fresh = document.createElement("template");
          fresh.innerHTML = html;
          morphChildren(live, fresh.content);
          live.dispatchEvent(new CustomEvent("bedside:updated"));
        })
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

  // A confirmation the page exists to show ("Cramp logged", "Removed"): focus it, so a
  // screen reader reads it and the next Tab reaches its Undo first.
  function setupAutofocus() {
    var target = document.querySelector("[data-autofocus]");
    if (target) target.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupAutofocus();
    setupRoomPicker();
    setupLive();
    setupReportWait();
  });
})();
