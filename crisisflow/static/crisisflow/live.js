/* Live regions (see crisisflow/web/live.py) and in-place task cards, on top of HTMX.

   A live region is an element with data-live-region (its name) and data-live-stamp.
   Every few seconds the page asks its live address (<meta name="cf-live">) once, with
   the stamps of its regions; the answer holds only the regions that changed, with their
   new markup, and the server's time (the clocks count from it). Here:
   - cfLiveIdle: a region the person is typing in, or has text or a choice in not sent
     yet, is left out of the poll and never swapped (a swap would throw it away); it
     catches up at the next poll after;
   - the next poll is asked for when the last one has answered (a slow server never
     gets a pile of them), and at once when the page becomes visible again;
   - the timeline's filter (the page's query) and the stages of the task list the
     person unfolded go along, so the regions come back as the person left them;
   - a region the person just changed in place (a task card's buttons) is not swapped
     by an answer that may be older than their change;
   - a task card (data-live-card) shows the refusal the server wrote in it (400, 409),
     and says so when the server could not be reached at all;
   - focus that was inside a swapped region stays in it.
   Without JavaScript none of this runs: the pages are whole without it. */
(function () {
  "use strict";

  var TYPING = /^(INPUT|TEXTAREA|SELECT)$/;
  var NOT_TYPING = /^(button|submit|reset|hidden|checkbox|radio|image)$/i;

  function typingIn(region) {
    var el = document.activeElement;
    if (!el || el === document.body || !region.contains(el)) return false;
    if (el.isContentEditable) return true;
    return TYPING.test(el.tagName) && !(el.tagName === "INPUT" && NOT_TYPING.test(el.type));
  }

  // The option a single select shows when nobody touched it: the one marked selected,
  // else the first (a select with none marked shows its first, with defaultSelected
  // false on every option).
  function defaultIndex(select) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].defaultSelected) return i;
    }
    return select.options.length ? 0 : -1;
  }

  // Fields of change forms (POST) that differ from what the server rendered. Filter
  // forms (GET) do not count: they hold no one's work.
  function unsent(region) {
    var fields = region.querySelectorAll("form[method=post] input, form[method=post] textarea, form[method=post] select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.tagName === "SELECT") {
        if (f.multiple) {
          for (var j = 0; j < f.options.length; j++) {
            if (f.options[j].selected !== f.options[j].defaultSelected) return true;
          }
        } else if (f.selectedIndex !== defaultIndex(f)) {
          return true;
        }
      } else if (f.type === "checkbox" || f.type === "radio") {
        if (f.checked !== f.defaultChecked) return true;
      } else if (f.type !== "hidden" && f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }

  window.cfLiveIdle = function (region) {
    return !typingIn(region) && !unsent(region);
  };

  // --- the page's poll -------------------------------------------------------------------------

  var meta = document.querySelector('meta[name="cf-live"]');
  var every = meta ? parseInt(meta.getAttribute("data-every"), 10) || 2000 : 0;
  var timer = null;
  var asking = false;

  function regions() {
    return document.querySelectorAll("[data-live-region]");
  }

  function pollUrl() {
    var params = new URLSearchParams(window.location.search);
    params.delete("region");
    var asked = 0;
    var unfolded = [];
    regions().forEach(function (el) {
      if (!window.cfLiveIdle(el)) return;
      params.append("region", el.getAttribute("data-live-region") + ":" + el.getAttribute("data-live-stamp"));
      asked++;
      el.querySelectorAll("[data-stage][data-open]").forEach(function (g) {
        unfolded.push(g.getAttribute("data-stage"));
      });
    });
    if (!asked) return null;
    if (unfolded.length) params.set("open", unfolded.join(","));
    return meta.getAttribute("content") + "?" + params.toString();
  }

  function swapIn(name, html, sent) {
    var el = document.querySelector('[data-live-region="' + name + '"]');
    if (!el || !window.cfLiveIdle(el)) return; // the person started typing meanwhile
    // The person changed something in it in place (a task card's button) since this
    // poll left, or just before: this answer may predate their change. The region keeps
    // its old stamp, so the next poll brings it again.
    if (el.cfTouched && el.cfTouched > sent - every) return;
    var focusId = holdsFocus(el) ? document.activeElement.id : null;
    if (window.htmx && window.htmx.swap) {
      window.htmx.swap(el, html, { swapStyle: "outerHTML" });
    } else {
      el.outerHTML = html;
    }
    if (focusId !== null) refocus([focusId, el.id]);
    document.dispatchEvent(new CustomEvent("cf:liveSwapped", { detail: { region: name } }));
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function poll() {
    var url = pollUrl();
    if (!url || asking) return schedule(every);
    asking = true;
    var sent = Date.now();
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        var json = r.ok && (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        return json ? r.json() : null; // signed out (the login page) or a server error: try again later
      })
      .then(function (answer) {
        if (!answer) return;
        var serverNow = Date.parse(answer.now);
        if (!isNaN(serverNow)) window.cfSkew = serverNow - (sent + Date.now()) / 2;
        Object.keys(answer.regions || {}).forEach(function (name) {
          swapIn(name, answer.regions[name].html, sent);
        });
      })
      .catch(function () {})
      .then(function () {
        asking = false;
        schedule(every);
      });
  }

  if (meta && every) {
    schedule(every);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") schedule(0);
    });
  }

  // --- focus and in-place task cards ---------------------------------------------------------------

  function holdsFocus(el) {
    var active = document.activeElement;
    return !!(el && active && active !== document.body && el.contains(active));
  }

  // Focus goes back to the element with the same id (a tick box) in the new markup; if
  // that one is gone (Start became Done, a task left the list), to the card or region
  // the person was in, rather than to the top of the page.
  function refocus(ids) {
    if (document.activeElement && document.activeElement !== document.body) return;
    var same = ids[0] && document.getElementById(ids[0]);
    var around = document.getElementById(ids[1]);
    if (same && !same.disabled) {
      same.focus({ preventScroll: true });
    } else if (around) {
      if (!around.hasAttribute("tabindex")) around.setAttribute("tabindex", "-1");
      around.focus({ preventScroll: true });
    }
  }

  var pending = null;

  // Noted before the request: the pressed button is disabled while it runs
  // (hx-disabled-elt), and a disabled button loses focus.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var xhr = evt.detail.xhr;
    xhr.cfHadFocus = holdsFocus(evt.detail.target);
    xhr.cfFocusId = xhr.cfHadFocus ? document.activeElement.id : "";
  });

  // An in-place change inside a live region (see swapIn).
  document.addEventListener("htmx:afterRequest", function (evt) {
    var region = evt.detail.elt && evt.detail.elt.closest && evt.detail.elt.closest("[data-live-region]");
    if (region) region.cfTouched = Date.now();
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var detail = evt.detail;
    var status = detail.xhr.status;
    if ((status === 400 || status === 409) && detail.target && detail.target.hasAttribute("data-live-card")) {
      detail.shouldSwap = true; // the card, with the refusal written in it
      detail.isError = false;
    }
    var target = detail.target;
    var had = detail.xhr.cfHadFocus || holdsFocus(target);
    pending = detail.shouldSwap && target && target.id && had ? [detail.xhr.cfFocusId, target.id] : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var ids = pending;
    pending = null;
    refocus(ids);
  });

  function cardFailed(evt) {
    var elt = evt.detail.elt;
    var card = elt && elt.closest && elt.closest("[data-live-card]");
    if (!card) return;
    var slot = card.querySelector("[data-live-error]");
    if (slot) {
      var p = document.createElement("p");
      p.className = "field-error";
      p.textContent = card.getAttribute("data-failed");
      slot.replaceChildren(p);
    }
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var s = evt.detail.xhr.status;
    if (s !== 400 && s !== 409) cardFailed(evt);
  });
  document.addEventListener("htmx:sendError", cardFailed);
})();
