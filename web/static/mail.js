// Keyboard shortcuts and selection for the mail pages (no inline script: CSP 'self').
// j/k next/previous row, x select it, Enter open, e archive, # delete, / search;
// on a message: r reply, a reply all, f forward, e archive, # delete.
(function () {
  "use strict";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".messages .message"));
  }

  var current = -1;

  function focusRow(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    var link = all[current].querySelector(".row-link");
    if (link) link.focus();
  }

  function checkCurrentIfNoneChecked() {
    var form = document.getElementById("bulk-form");
    if (!form) return false;
    if (form.querySelector("input.select:checked")) return true;
    var all = rows();
    if (current < 0 || !all[current]) return false;
    all[current].querySelector("input.select").checked = true;
    return true;
  }

  function click(id) {
    var element = document.getElementById(id);
    if (element) { element.click(); return true; }
    return false;
  }

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    var handled = true;
    if (key === "j") focusRow(current + 1);
    else if (key === "k") focusRow(current - 1);
    else if (key === "x" && current >= 0) {
      var box = rows()[current].querySelector("input.select");
      box.checked = !box.checked;
    } else if (key === "/") {
      var search = document.querySelector(".search-form input[type=search]");
      if (search) search.focus(); else handled = false;
    } else if (key === "e") {
      handled = (checkCurrentIfNoneChecked() && click("bulk-archive")) || click("archive-button");
    } else if (key === "#") {
      handled = (checkCurrentIfNoneChecked() && click("bulk-delete")) || click("delete-button");
    } else if (key === "r") handled = click("reply-link");
    else if (key === "a") handled = click("reply-all-link");
    else if (key === "f") handled = click("forward-link");
    else handled = false;
    if (handled) event.preventDefault();
  });

  function setChat(collapsed) {
    var layout = document.querySelector(".layout");
    var toggle = document.getElementById("chat-toggle");
    if (!layout || !toggle) return;
    layout.classList.toggle("chat-collapsed", collapsed);
    toggle.textContent = collapsed ? "Show" : "Hide";
    toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    try { window.localStorage.setItem("mailrs-chat-collapsed", collapsed ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("chat-toggle");
    if (toggle) {
      var stored = null;
      try { stored = window.localStorage.getItem("mailrs-chat-collapsed"); } catch (e) { stored = null; }
      setChat(stored === "1");
      toggle.addEventListener("click", function () {
        setChat(toggle.getAttribute("aria-expanded") === "true");
      });
      var log = document.getElementById("chat-log");
      if (log) log.scrollTop = log.scrollHeight;
    }
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("#bulk-form input.select").forEach(function (box) {
          box.checked = all.checked;
        });
      });
    }
    // Drag rows onto a folder of the list: the dragged row (or the selection it is part
    // of) moves there through the bulk form, with the usual Undo.
    var bulk = document.getElementById("bulk-form");
    if (bulk) {
      document.querySelectorAll(".messages .message[draggable=true]").forEach(function (row) {
        row.addEventListener("dragstart", function (event) {
          var box = row.querySelector("input.select");
          if (!box.checked) {
            bulk.querySelectorAll("input.select").forEach(function (b) { b.checked = false; });
            box.checked = true;
          }
          event.dataTransfer.effectAllowed = "move";
          event.dataTransfer.setData("text/plain", box.value);
        });
      });
      var current = bulk.querySelector("input[name=folder]").value;
      document.querySelectorAll(".folder-list a[data-folder]").forEach(function (link) {
        var target = link.getAttribute("data-folder");
        if (target === current) return;
        link.addEventListener("dragover", function (event) {
          event.preventDefault();
          link.classList.add("drop-target");
        });
        link.addEventListener("dragleave", function () { link.classList.remove("drop-target"); });
        link.addEventListener("drop", function (event) {
          event.preventDefault();
          link.classList.remove("drop-target");
          bulk.querySelector("select[name=to]").value = target;
          var button = bulk.querySelector("button[value=move]");
          if (bulk.requestSubmit) bulk.requestSubmit(button); else button.click();
        });
      });
    }
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    // Every change (bulk actions, move, delete, flag, import...) shows that it is under way:
    // the pressed button gets a spinner (aria-busy) and the form's buttons wait.
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented) return;
        if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
        form.setAttribute("aria-busy", "true");
        form.classList.add("busy");
        var button = event.submitter || form.querySelector("button[type=submit]");
        if (button) button.setAttribute("aria-busy", "true");
        setTimeout(function () {
          form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        }, 0);
      });
    });
  });
})();
