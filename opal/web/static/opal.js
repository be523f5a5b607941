/* OPAL: the one script (CSP: script-src 'self'). Shows the scroll hint of a table that is wider
   than its box and marks the box when it is scrolled to the end. Everything works without it. */
(function () {
  "use strict";
  function update(box) {
    var wide = box.scrollWidth > box.clientWidth + 1;
    var hint = document.getElementById(box.getAttribute("data-hint") || "");
    box.classList.toggle("overflowing", wide);
    box.classList.toggle("at-end", box.scrollLeft + box.clientWidth >= box.scrollWidth - 1);
    if (hint) { hint.hidden = !wide; }
  }
  function all() {
    var boxes = document.querySelectorAll(".table-wrap[data-hint]");
    for (var i = 0; i < boxes.length; i++) { update(boxes[i]); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    all();
    var boxes = document.querySelectorAll(".table-wrap[data-hint]");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].addEventListener("scroll", function (event) { update(event.currentTarget); },
                                {passive: true});
    }
    window.addEventListener("resize", all);
  });
}());
