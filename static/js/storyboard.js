// Storyboard and review: modal confirmations, select-all, the regenerate cost, synced comparison playback.
function openDialogs(root) {
  root.querySelectorAll("dialog[data-modal]:not([open])").forEach((dialog) => {
    dialog.showModal();
    dialog.addEventListener("close", () => dialog.remove(), { once: true });
  });
}
document.addEventListener("DOMContentLoaded", () => openDialogs(document));
document.body.addEventListener("htmx:load", (event) => openDialogs(event.target.parentElement || document));
document.addEventListener("click", (event) => {
  const close = event.target.closest("[data-close-dialog]");
  if (close) close.closest("dialog").close();
});

document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll(`input[name="${all.dataset.selectAll}"][data-shot-box]:not([disabled])`).forEach((box) => {
    box.checked = all.checked;
  });
});

// Regenerate: show what the chosen model and length cost, and send it so the server can check it.
function regenerateCost(form) {
  const prices = JSON.parse(document.getElementById("model-prices").textContent);
  const model = prices[form.elements.ai_model.value];
  if (!model) return null;
  const duration = Number(form.elements.duration.value);
  const units = { second: duration, run: 1, image: 1 }[model.unit] ?? 1;
  return Math.round(Number(model.price) * units * 100) / 100;
}
function showCost(form) {
  const cost = regenerateCost(form);
  if (cost === null) return;
  form.elements.expected_cost.value = cost.toFixed(2);
  form.querySelector("[data-cost]").textContent = cost > 0 ? `Regenerate ($${cost.toFixed(2)})` : "Regenerate (free)";
  form.dataset.confirm = cost > 0 ? `This makes a new version for about $${cost.toFixed(2)}. Go ahead?` : "";
}
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-regenerate]");
  if (form) showCost(form);
});
document.body.addEventListener("htmx:load", (event) => {
  event.target.querySelectorAll?.("form[data-regenerate]").forEach(showCost);
});
document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("form[data-regenerate]").forEach(showCost));
// htmx requests skip the browser's submit confirmation: ask here too.
document.body.addEventListener("htmx:confirm", (event) => {
  const form = event.target.closest("form[data-regenerate]");
  if (form && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// Compare: one button plays, pauses and rewinds both versions together.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-sync-play]");
  if (!button) return;
  const videos = document.querySelectorAll("video[data-sync]");
  const playing = [...videos].some((v) => !v.paused);
  videos.forEach((v) => { if (playing) v.pause(); else { v.currentTime = 0; v.play(); } });
  button.textContent = playing ? "Play both from the start" : "Pause both";
});
