// Quick mode: a suggested answer fills its question's field (and stays editable).
document.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-fill]");
  if (!chip) return;
  const field = document.getElementById(chip.dataset.fill);
  if (!field) return;
  field.value = chip.textContent.trim();
  field.focus();
});
