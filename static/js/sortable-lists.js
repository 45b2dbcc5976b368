// Drag and drop reordering for [data-sortable] lists (SortableJS). The server renumbers
// and answers with the re-rendered list; the arrow buttons do the same from the keyboard.
(function () {
  function bind(root) {
    root.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (list._sortable) return;
      list._sortable = Sortable.create(list, {
        handle: ".drag-handle",
        draggable: "[data-id]",
        animation: 150,
        // Pointer events instead of native HTML5 drag and drop: the same on every browser and touch screen.
        forceFallback: true,
        onEnd: function (event) {
          if (event.oldIndex === event.newIndex) return;
          var ids = Array.from(list.querySelectorAll(":scope > [data-id]")).map(function (item) {
            return item.dataset.id;
          });
          htmx.ajax("POST", list.dataset.url, { values: { ids: ids.join(",") }, target: list.dataset.target || "#scene-list", swap: "outerHTML" });
        },
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (event) { bind(event.detail.elt); });
})();
