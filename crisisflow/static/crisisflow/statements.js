// The statement editor: character and SMS-segment counters and the channel previews
// follow the text as it is typed (the server worked out the same figures on load:
// crisisflow/statements/preview.py).
(function () {
  "use strict";
  const GSM_SINGLE = 160, GSM_MULTI = 153;
  const isGsm = (text) => /^[\x00-\x7f]*$/.test(text);
  const length = (text) => Array.from(text).length;

  function segments(text, single, multi) {
    const n = length(text);
    if (n === 0) return 0;
    if (isGsm(text)) { single = GSM_SINGLE; multi = GSM_MULTI; }
    return n <= single ? 1 : Math.ceil(n / multi);
  }

  function update(form) {
    const body = form.querySelector("[data-counts=body]");
    const title = form.querySelector("[data-counts=title]");
    const text = body ? body.value.replace(/\r\n/g, "\n").trim() : "";
    const subject = title ? title.value.trim() : "";
    document.querySelectorAll(".counter").forEach((counter) => {
      const max = parseInt(counter.dataset.max, 10);
      const maxSubject = parseInt(counter.dataset.maxSubject, 10);
      counter.querySelector(".chars").textContent = length(text);
      const seg = counter.querySelector(".segments");
      if (seg) seg.textContent = segments(text, parseInt(counter.dataset.segment, 10), parseInt(counter.dataset.multi, 10));
      const subj = counter.querySelector(".subject-chars");
      if (subj) subj.textContent = length(subject);
      const over = (max && length(text) > max) || (maxSubject && length(subject) > maxSubject);
      counter.classList.toggle("over", Boolean(over));
    });
    document.querySelectorAll("[data-preview=body]").forEach((el) => { el.textContent = text; });
    document.querySelectorAll("[data-preview=title]").forEach((el) => { el.textContent = subject; });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("statement-form");
    if (!form) return;
    document.querySelectorAll("[data-preview=body]").forEach((el) => { el.style.whiteSpace = "pre-wrap"; });
    form.addEventListener("input", () => update(form));
  });
})();
