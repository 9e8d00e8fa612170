// Address completion for the To, Cc and Bcc fields: the word being typed (after the last
// comma) is looked up in the contacts; arrows move, Enter or Tab picks, Escape closes.
// The field is an ARIA 1.2 combobox with a listbox popup.
(function () {
  "use strict";

  function setup(field, url) {
    var list = document.createElement("ul");
    list.id = field.id + "-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Contacts");
    list.hidden = true;
    field.insertAdjacentElement("afterend", list);
    field.setAttribute("role", "combobox");
    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-expanded", "false");
    field.setAttribute("aria-controls", list.id);
    var items = [];
    var active = -1;
    var asked = 0;

    function token() {
      var value = field.value;
      var cut = value.lastIndexOf(",");
      return value.slice(cut + 1).trim();
    }

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      items = [];
      active = -1;
      field.setAttribute("aria-expanded", "false");
      field.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0) field.setAttribute("aria-activedescendant", list.id + "-" + index);
      else field.removeAttribute("aria-activedescendant");
    }

    function pick(index) {
      var item = items[index];
      if (!item) return;
      var value = field.value;
      var cut = value.lastIndexOf(",");
      var head = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
      field.value = head + item.label + ", ";
      close();
      field.focus();
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function show(found) {
      list.innerHTML = "";
      items = found;
      if (!found.length) { close(); return; }
      found.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.textContent = item.label;
        li.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      field.setAttribute("aria-expanded", "true");
      highlight(0);
    }

    field.addEventListener("input", function (event) {
      if (event.isTrusted === false && list.hidden) return;
      var word = token();
      if (word.length < 1) { close(); return; }
      var ticket = ++asked;
      fetch(url + "?q=" + encodeURIComponent(word), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { contacts: [] }; })
        .then(function (data) { if (ticket === asked && token() === word) show(data.contacts || []); })
        .catch(close);
    });
    field.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") highlight(Math.min(items.length - 1, active + 1));
      else if (event.key === "ArrowUp") highlight(Math.max(0, active - 1));
      else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) pick(active);
      else if (event.key === "Escape") close();
      else return;
      event.preventDefault();
    });
    field.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("compose-form");
    if (!form) return;
    var url = form.getAttribute("data-complete-url");
    ["to", "cc", "bcc"].forEach(function (id) {
      var field = document.getElementById(id);
      if (field && url) setup(field, url);
    });
  });
})();
