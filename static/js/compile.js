// The compile form: drag (SortableJS) or arrow buttons reorder the segments, a cut needs no length,
// and the note under the form says whether this compile takes the fast path or encodes again.
(function () {
  function refresh(form) {
    form.querySelectorAll(".compile-row").forEach(function (row, index) {
      var kind = row.querySelector("select[name=transition]");
      var length = row.querySelector("input[name=length]");
      var first = index === 0;
      row.classList.toggle("first", first);
      kind.disabled = false;
      length.disabled = false;
      length.readOnly = first || kind.value === "cut";
      row.querySelector("[data-move=up]").disabled = first;
      row.querySelector("[data-move=down]").disabled = !row.nextElementSibling;
    });
    var aspect = form.querySelector("[name=aspect_ratio]");
    var captions = form.querySelector("[name=captions]");
    var reframe = aspect && aspect.value !== form.dataset.projectAspect;
    var burn = captions && captions.value === "burned";
    var note = form.querySelector("[data-path-note]");
    if (!note) return;
    var fast = form.dataset.fast === "1";
    note.querySelector("[data-when=fast]").hidden = !fast || reframe || burn;
    note.querySelector("[data-when=slow]").hidden = fast || reframe || burn;
    note.querySelector("[data-when=reframe]").hidden = !reframe;
    note.querySelector("[data-when=burn]").hidden = !burn;
  }

  function announce(form, row) {
    var status = form.querySelector("[data-move-status]");
    var rows = Array.from(form.querySelectorAll(".compile-row"));
    if (status) status.textContent = row.dataset.label + " is now number " + (rows.indexOf(row) + 1) + " of " + rows.length + ".";
  }

  function bind(root) {
    var form = root.querySelector ? root.querySelector("#compile-form") : null;
    if (!form && root.id === "compile-form") form = root;
    if (!form || form._bound) return;
    form._bound = true;
    var list = form.querySelector("[data-compile-list]");
    Sortable.create(list, {
      handle: ".drag-handle", animation: 150, forceFallback: true,
      onEnd: function (event) { refresh(form); announce(form, event.item); },
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest("[data-move]");
      if (!button) return;
      var row = button.closest(".compile-row");
      if (button.dataset.move === "up" && row.previousElementSibling) row.parentNode.insertBefore(row, row.previousElementSibling);
      if (button.dataset.move === "down" && row.nextElementSibling) row.parentNode.insertBefore(row.nextElementSibling, row);
      refresh(form);
      announce(form, row);
      var again = row.querySelector("[data-move=" + button.dataset.move + "]");
      (again && !again.disabled ? again : button).focus();
    });
    form.addEventListener("change", function () { refresh(form); });
    refresh(form);
  }
  // One compile at a time: the button follows the status panel, however it was updated (poll or push).
  function syncButton() {
    var status = document.getElementById("compile-status");
    var button = document.getElementById("start-compile");
    if (!status || !button) return;
    var active = status.dataset.active === "1";
    button.disabled = active;
    button.title = active ? "A compile is running" : "";
  }
  document.addEventListener("DOMContentLoaded", function () { bind(document); syncButton(); });
  document.addEventListener("htmx:load", function (event) { bind(event.detail.elt); syncButton(); });
})();
