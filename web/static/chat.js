// The assistant panel: a WebSocket to /ws/chat, streamed answers, buttons, notifications.
"use strict";

(function () {
  const panel = document.getElementById("chat");
  if (!panel) return;
  const log = document.getElementById("chat-log");
  const buttons = document.getElementById("chat-buttons");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const status = document.getElementById("chat-status");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  let socket = null;
  let current = null;
  let retry = 1000;

  function bubble(kind, text) {
    const div = document.createElement("div");
    div.className = "bubble " + kind;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function showButtons(list) {
    buttons.replaceChildren();
    for (const b of list || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button chip" + (b.action === "cancel" ? " secondary" : "");
      button.textContent = b.label;
      button.addEventListener("click", function () {
        if (b.action) {
          send({ type: "action", action: b.action, id: b.id });
          bubble("user", b.label);
        } else {
          say(b.text);
        }
      });
      buttons.appendChild(button);
    }
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      buttons.replaceChildren();
      socket.send(JSON.stringify(frame));
      current = null;
    } else {
      status.textContent = "Not connected; retrying…";
    }
  }

  function say(text) {
    if (!text) return;
    bubble("user", text);
    send({ type: "message", text: text });
  }

  function onFrame(event) {
    let frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (frame.type === "token") {
      if (!current) current = bubble("assistant", "");
      current.textContent += frame.text;
      log.scrollTop = log.scrollHeight;
    } else if (frame.type === "done") {
      if (!current) current = bubble("assistant", "");
      if (frame.text) current.textContent = frame.text;  // the whole answer is authoritative
      current.classList.add("complete");
      current = null;
      showButtons(frame.buttons);
    } else if (frame.type === "notification") {
      // new mail, flags set elsewhere (IMAP, another tab, the chat), moves: refresh the list
      if (frame.kind === "new_mail") bubble("notification", frame.text || "New mail");
      refreshList();
    } else if (frame.type === "error") {
      bubble("error", frame.error);
    }
  }

  // New mail: reload the message list and the folder counts of the page in place.
  function refreshList() {
    const list = document.querySelector(".maillist");
    const folders = document.querySelector(".folder-list");
    if (!list) return;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        const fresh = new DOMParser().parseFromString(html, "text/html");
        const newList = fresh.querySelector(".maillist");
        const newFolders = fresh.querySelector(".folder-list");
        if (newList) list.replaceChildren(...newList.childNodes);
        if (folders && newFolders) folders.replaceChildren(...newFolders.childNodes);
      })
      .catch(function () {});
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(proto + "//" + location.host + "/ws/chat?csrf_token=" + encodeURIComponent(token));
    socket.addEventListener("open", function () { status.textContent = "Connected"; retry = 1000; panel.dataset.connected = "1"; });
    socket.addEventListener("message", onFrame);
    socket.addEventListener("close", function () {
      panel.dataset.connected = "";
      status.textContent = "Disconnected; reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    input.value = "";
    say(text);
  });
  connect();
})();
