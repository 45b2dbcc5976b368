// Small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-autosubmit]")) el.form.requestSubmit();
});
document.addEventListener("submit", (event) => {
  // htmx has taken the submit (and asks through htmx:confirm): do not ask twice.
  if (event.defaultPrevented) return;
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("DOMContentLoaded", () => {
  if (!window.htmx) return;
  // 422 carries a form with its errors: swap it like a success. Other errors are announced.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },
    { code: "[45]..", swap: false, error: true },
  ];
  restoreDrafts();
});

document.body.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector("meta[name=csrf-token]");
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});

// Errors from htmx requests (403, 404, 500, network) get a visible, spoken message.
function announce(message) {
  let box = document.getElementById("toast");
  if (!box) {
    box = document.createElement("div");
    box.id = "toast";
    box.setAttribute("role", "alert");
    document.body.appendChild(box);
  }
  box.textContent = message;
  box.hidden = false;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.hidden = true; }, 8000);
}
document.body.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  const text = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain") ? xhr.responseText : "";
  announce(text || `That did not work (${xhr.status}). Nothing was changed; try again.`);
});
document.body.addEventListener("htmx:sendError", () => announce("The server could not be reached. Your text is kept; it will save when you are back online."));

// Autosaved forms keep a copy of what was typed in this browser until the server has it,
// so a failed save or a lost connection never loses text.
function draftValues(form) {
  const values = {};
  for (const el of form.elements) if (el.name && el.type !== "hidden") values[el.name] = el.value;
  return values;
}
document.addEventListener("input", (event) => {
  const form = event.target.form;
  if (!form || !form.dataset.draftKey) return;
  localStorage.setItem(form.dataset.draftKey, JSON.stringify(draftValues(form)));
  const state = document.getElementById("save-state");
  if (state) { state.textContent = "Unsaved changes…"; state.className = "save-state saving"; }
});
document.body.addEventListener("htmx:beforeRequest", (event) => {
  const state = document.getElementById("save-state");
  if (state && event.detail.elt.matches && event.detail.elt.matches("form[data-draft-key]")) {
    state.textContent = "Saving…";
    state.className = "save-state saving";
  }
});
document.body.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt.closest && event.detail.elt.closest("form[data-draft-key]");
  if (form && event.detail.successful && event.detail.xhr.status < 300) localStorage.removeItem(form.dataset.draftKey);
});
function restoreDrafts() {
  document.querySelectorAll("form[data-draft-key]").forEach((form) => {
    const saved = localStorage.getItem(form.dataset.draftKey);
    if (!saved) return;
    const values = JSON.parse(saved);
    let changed = false;
    for (const el of form.elements) {
      if (el.name in values && el.value !== values[el.name]) { el.value = values[el.name]; changed = true; }
    }
    if (!changed) { localStorage.removeItem(form.dataset.draftKey); return; }
    announce("Restored what you typed before it could be saved. Saving it now.");
    htmx.trigger(form, "change");
  });
}

// Single-key shortcuts on links marked data-hotkey, unless the user is typing.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) return;
  const link = document.querySelector(`[data-hotkey="${CSS.escape(event.key)}"]`);
  if (link) { event.preventDefault(); link.click(); }
});

// On a narrow screen the stage tabs scroll sideways: bring the current one into view.
document.addEventListener("DOMContentLoaded", function () {
  var nav = document.querySelector(".stage-nav");
  var current = nav && nav.querySelector("[aria-current=page]");
  if (current && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
  }
});
