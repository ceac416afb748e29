/* The golden clock, live. Every element with data-deadline (an ISO time) counts down
   each second: "hh:mm:ss left", then "Overdue by hh:mm:ss". The phrases come translated
   from the server in data-left / data-overdue ("{t}" marks the time), and the server's
   own text stays in place when this script never runs.

   data-now is the server's time when the page was made: the difference to this
   device's clock is taken off, so a phone set a few minutes wrong still counts right.
   Where the page says the server's time itself (<meta name="cf-live" data-now>), and
   once its live poll (live.js) has heard it (window.cfSkew), every clock counts from
   that instead: a region's markup may be a shared render made a while ago, its
   data-now older than the page. */
(function () {
  "use strict";

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function hms(ms) {
    var s = Math.floor(ms / 1000);
    return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
  }

  var clocks = [];

  // Finds the clocks on the page. A clock keeps the skew measured when it arrived: the
  // page's clocks when it loaded, a live region's (HTMX) when it was swapped in.
  function bind() {
    var arrived = Date.now();
    clocks = [];
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      if (!el.cfClock) {
        var deadline = Date.parse(el.getAttribute("data-deadline"));
        var serverNow = Date.parse(el.getAttribute("data-now"));
        var text = el.querySelector(".clock-text");
        if (isNaN(deadline) || !text) return;
        el.cfClock = {
          el: el,
          text: text,
          icon: el.querySelector(".clock-icon"),
          deadline: deadline,
          skew: isNaN(serverNow) ? 0 : serverNow - arrived,
          left: el.getAttribute("data-left") || "{t}",
          overdue: el.getAttribute("data-overdue") || "-{t}",
        };
      }
      clocks.push(el.cfClock);
    });
  }

  function tick() {
    var now = Date.now();
    clocks.forEach(function (c) {
      var skew = typeof window.cfSkew === "number" ? window.cfSkew : c.skew;
      var left = c.deadline - (now + skew);
      var overdue = left < 0;
      c.text.textContent = (overdue ? c.overdue : c.left).replace("{t}", hms(Math.abs(left)));
      c.el.classList.toggle("clock-running", !overdue);
      c.el.classList.toggle("clock-missed", overdue);
      if (c.icon) c.icon.textContent = overdue ? "⚠ " : "";
    });
  }

  // The page's own time (the live address's meta): regions may be shared renders made
  // earlier, their data-now older than the page.
  var meta = document.querySelector('meta[name="cf-live"]');
  var pageNow = meta ? Date.parse(meta.getAttribute("data-now")) : NaN;
  if (!isNaN(pageNow) && typeof window.cfSkew !== "number") window.cfSkew = pageNow - Date.now();

  bind();
  tick();
  setInterval(tick, 1000);
  // Live regions swap in new markup with new clocks: count those down too, at once.
  function rebind() {
    bind();
    tick();
  }
  document.addEventListener("htmx:afterSwap", rebind);
  document.addEventListener("cf:liveSwapped", rebind);
})();
