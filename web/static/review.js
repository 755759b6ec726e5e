// groundhog review: the page's keys. Every key presses a real button or follows a real link on the
// page (marked data-key), so the mouse and the keyboard do exactly the same thing. No model text is
// ever read or written here: the server renders it, escaped.
(function () {
  "use strict";

  var REVIEW = { a: 1, r: 1, d: 1, u: 1, j: 1, k: 1, c: 1, q: 1, v: 1 };
  var COMPARE = { "1": "1", h: "1", ArrowLeft: "1", "2": "2", l: "2", ArrowRight: "2", "=": "=", s: "s", c: "Escape" };
  var busy = false;

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function press(key) {
    var el = document.querySelector('[data-key="' + (key === '"' ? '\\"' : key) + '"]');
    if (!el || el.disabled) {
      return false;
    }
    if (el.tagName === "A" || el.type === "submit") {
      if (busy) {
        return true; // one decision per key press: the page is already on its way
      }
      busy = true;
    }
    el.click();
    return true;
  }

  function toggleHelp(show) {
    var help = document.getElementById("help");
    if (help) {
      help.hidden = show === undefined ? !help.hidden : !show;
    }
  }

  function toggleProvenance() {
    var prov = document.getElementById("provenance");
    if (prov) {
      prov.open = !prov.open;
      if (prov.open) {
        prov.scrollIntoView({ block: "start" });
      }
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var key = event.key;
    if (typing(event.target)) {
      if (key === "Escape") {
        event.target.blur();
        event.preventDefault();
      }
      return;
    }
    var page = document.body.getAttribute("data-page");
    var done = false;
    if (key === "?") {
      toggleHelp();
      done = true;
    } else if (key === "Escape" && document.getElementById("help") && !document.getElementById("help").hidden) {
      toggleHelp(false);
      done = true;
    } else if (key === "f") {
      var first = document.querySelector("#filters select, #filters input");
      if (first) {
        first.focus();
        done = true;
      }
    } else if (page === "compare") {
      if (COMPARE[key]) {
        done = press(COMPARE[key]);
      } else if (key === "Escape") {
        done = press("Escape");
      }
    } else if (page === "questions" || page === "diversity") {
      if (key === "Escape") {
        done = press("Escape");
      }
    } else if (page === "review") {
      if (key === "n") {
        var note = document.getElementById("note");
        if (note) {
          note.focus();
          note.select();
          done = true;
        }
      } else if (key === "p") {
        toggleProvenance();
        done = true;
      } else if (REVIEW[key]) {
        done = press(key);
      }
    }
    if (done) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-key]") : null;
    if (!target) {
      return;
    }
    var key = target.getAttribute("data-key");
    if (key === "?") {
      toggleHelp();
    } else if (key === "Escape" && target.closest("#help")) {
      toggleHelp(false);
    }
  });

  // A filter change applies at once; Enter in the number fields submits as usual.
  var filters = document.getElementById("filters");
  if (filters) {
    filters.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") {
        filters.submit();
      }
    });
  }

  // Keep the current idea in view in the list.
  var current = document.querySelector("#list li.current");
  if (current && current.scrollIntoView) {
    current.scrollIntoView({ block: "nearest" });
  }

  window.addEventListener("pageshow", function () {
    busy = false; // back/forward cache: the page is live again
  });
})();
