// Compose: saves the draft to Drafts a few seconds after each change (without the files),
// and shows the attachments' sizes before sending, warning when they pass the limit.
(function () {
  "use strict";

  function size(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("compose-form");
    if (!form) return;
    var status = document.getElementById("draft-status");
    var uidField = document.getElementById("draft-uid");
    var timer = null;
    var saving = false;
    var dirty = false;

    function save() {
      if (saving) { dirty = true; return; }
      saving = true;
      dirty = false;
      var data = new FormData(form);
      data.delete("attachments");
      data.delete("action");
      status.textContent = "Saving draft…";
      fetch(form.getAttribute("data-draft-url"), {
        method: "POST", body: data, credentials: "same-origin",
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (result) {
        uidField.value = String(result.uid);
        var action = new URL(form.action, window.location.href);
        action.searchParams.set("draft", String(result.uid));
        form.action = action.pathname + action.search;
        status.textContent = "Draft saved at " + result.saved + ".";
      }).catch(function () {
        status.textContent = "The draft could not be saved.";
      }).finally(function () {
        saving = false;
        if (dirty) schedule();
      });
    }

    function schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(save, 2000);
    }

    form.querySelectorAll("input[type=text], textarea").forEach(function (field) {
      field.addEventListener("input", schedule);
    });

    var files = document.getElementById("attachments");
    var sizes = document.getElementById("attachment-sizes");
    var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    files.addEventListener("change", function () {
      var total = 0;
      var names = [];
      Array.prototype.forEach.call(files.files, function (file) {
        total += file.size;
        names.push(file.name + " (" + size(file.size) + ")");
      });
      var text = names.join(", ");
      if (names.length > 1) text += " — " + size(total) + " in all";
      if (limit && total > limit) {
        text += ". That is more than the " + size(limit) + " a message may carry.";
        sizes.classList.add("error-text");
      } else {
        sizes.classList.remove("error-text");
      }
      sizes.textContent = text;
    });
    var submitting = false;
    form.addEventListener("submit", function (event) {
      if (submitting) { event.preventDefault(); return; }  // no second send on a double click
      submitting = true;
      if (timer) clearTimeout(timer);
      var button = event.submitter && event.submitter.id === "save-draft"
        ? event.submitter : document.getElementById("send-button");
      button.setAttribute("aria-busy", "true");
      button.textContent = button.id === "save-draft" ? "Saving…" : "Sending…";
      status.textContent = button.id === "save-draft" ? "Saving the draft…" : "Sending…";
      form.setAttribute("aria-busy", "true");
      // disabled after the form's data is taken, so the pressed button's value still goes
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
