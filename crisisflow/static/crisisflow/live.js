/* Live regions (see crisisflow/web/live.py) and in-place task cards, on top of HTMX.

   A live region polls with hx-trigger="every 3s [cfLiveIdle(this)]" and carries its
   stamp in data-live-stamp. Here:
   - cfLiveIdle: no poll while the person is typing in the region, or has text or a
     choice there not sent yet (a swap would throw it away);
   - the stamp goes out as If-None-Match, and a 304 ("nothing changed") leaves the region
     alone; a region the person started typing in meanwhile is not swapped either;
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

  // Fields of change forms (POST) that differ from what the server rendered. Filter
  // forms (GET) do not count: they hold no one's work.
  function unsent(region) {
    var fields = region.querySelectorAll("form[method=post] input, form[method=post] textarea, form[method=post] select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.tagName === "SELECT") {
        for (var j = 0; j < f.options.length; j++) {
          if (f.options[j].selected !== f.options[j].defaultSelected) return true;
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

  function isRegion(el) {
    return el && el.hasAttribute && el.hasAttribute("data-live-stamp");
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!isRegion(elt) || evt.detail.verb !== "get") return;
    evt.detail.headers["If-None-Match"] = '"' + elt.getAttribute("data-live-stamp") + '"';
    // The incident page's regions render as the page is filtered (the timeline's kind
    // and person): ask with the page's own query.
    if (elt.hasAttribute("data-live-query") && window.location.search) {
      evt.detail.path = evt.detail.path.split("?")[0] + window.location.search;
    }
  });

  var refocus = null;

  function holdsFocus(el) {
    var active = document.activeElement;
    return !!(el && active && active !== document.body && el.contains(active));
  }

  // Noted before the request: the pressed button is disabled while it runs
  // (hx-disabled-elt), and a disabled button loses focus.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var xhr = evt.detail.xhr;
    xhr.cfHadFocus = holdsFocus(evt.detail.target);
    xhr.cfFocusId = xhr.cfHadFocus ? document.activeElement.id : "";
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var detail = evt.detail;
    var elt = detail.requestConfig && detail.requestConfig.elt;
    var status = detail.xhr.status;
    if (isRegion(elt) && detail.target === elt) {
      // Unchanged; or the person started typing meanwhile; or not the region at all
      // (signed out: the login page) — the next poll will tell.
      var body = typeof detail.serverResponse === "string" ? detail.serverResponse : "";
      if (status === 304 || !window.cfLiveIdle(elt) || body.indexOf('id="' + elt.id + '"') === -1) {
        detail.shouldSwap = false;
        detail.isError = false;
        return;
      }
    }
    if ((status === 400 || status === 409) && detail.target && detail.target.hasAttribute("data-live-card")) {
      detail.shouldSwap = true; // the card, with the refusal written in it
      detail.isError = false;
    }
    var target = detail.target;
    var had = detail.xhr.cfHadFocus || holdsFocus(target);
    refocus = detail.shouldSwap && target && target.id && had ? [detail.xhr.cfFocusId, target.id] : null;
  });

  // Focus goes back to the element with the same id (a tick box) in the new markup; if
  // that one is gone (Start became Done, a task left the list), to the card or region
  // the person was in, rather than to the top of the page.
  document.addEventListener("htmx:afterSettle", function () {
    if (!refocus) return;
    var same = refocus[0] && document.getElementById(refocus[0]);
    var around = document.getElementById(refocus[1]);
    refocus = null;
    if (document.activeElement && document.activeElement !== document.body) return;
    if (same && !same.disabled) {
      same.focus({ preventScroll: true });
    } else if (around) {
      if (!around.hasAttribute("tabindex")) around.setAttribute("tabindex", "-1");
      around.focus({ preventScroll: true });
    }
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
