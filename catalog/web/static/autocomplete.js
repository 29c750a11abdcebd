/* Concept autocomplete for the search box (ARIA 1.2 combobox with a listbox popup).
 *
 * Progressive enhancement: without JavaScript the box is a plain search field. With it,
 * typing asks GET /api/terms?q=... for concepts (label prefix first, then synonyms);
 * ArrowDown/ArrowUp move through the suggestions, Enter or a click picks one (the box
 * gets its label and the form is submitted), Escape closes the list. Enter with no
 * suggestion highlighted submits what was typed, as before.
 */
(function () {
  "use strict";

  var DELAY_MS = 150;
  var LIMIT = 8;

  function setup(input) {
    var endpoint = input.getAttribute("data-suggest");
    var form = input.form;
    var list = document.createElement("ul");
    var status = document.createElement("div");
    var items = [];
    var active = -1;
    var timer = null;
    var serial = 0;

    list.id = input.id + "-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggested concepts");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    input.parentNode.appendChild(list);
    input.parentNode.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var options = list.children;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function pick(index) {
      var item = items[index];
      if (!item) return;
      input.value = item.label;
      close();
      form.submit();
    }

    function option(item, index) {
      var li = document.createElement("li");
      li.id = list.id + "-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-iri", item.iri);
      var label = document.createElement("span");
      label.className = "suggestion-label";
      label.textContent = item.label;
      li.appendChild(label);
      if (item.matched && item.matched !== item.label) {
        var syn = document.createElement("span");
        syn.className = "suggestion-syn";
        syn.textContent = " (" + item.matched + ")";
        li.appendChild(syn);
      }
      var scheme = document.createElement("span");
      scheme.className = "suggestion-scheme";
      scheme.textContent = item.scheme;
      li.appendChild(scheme);
      if (typeof item.count === "number") {
        var count = document.createElement("span");
        count.className = "suggestion-count count";
        count.textContent = " " + item.count + (item.count === 1 ? " record" : " records");
        li.appendChild(count);
      }
      li.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep focus in the box
        pick(index);
      });
      return li;
    }

    function show(found) {
      items = found;
      list.textContent = "";
      found.forEach(function (item, index) { list.appendChild(option(item, index)); });
      if (!found.length) {
        close();
        status.textContent = "";
        return;
      }
      list.hidden = false;
      active = -1;
      input.setAttribute("aria-expanded", "true");
      status.textContent = found.length + " suggestion" + (found.length === 1 ? "" : "s") +
        ", use the arrow keys to choose";
    }

    function fetchSuggestions() {
      var text = input.value.trim();
      var mine = ++serial;
      if (text.length < 2) { show([]); return; }
      var url = endpoint + "?limit=" + LIMIT + "&q=" + encodeURIComponent(text);
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (found) { if (mine === serial) show(found); })
        .catch(function () { if (mine === serial) show([]); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length > 0;
      if (event.key === "ArrowDown") {
        if (!open) { fetchSuggestions(); return; }
        event.preventDefault();
        highlight(active + 1 >= items.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        pick(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });

    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  function init() {
    var boxes = document.querySelectorAll("input[data-suggest]");
    for (var i = 0; i < boxes.length; i++) setup(boxes[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
