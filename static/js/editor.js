// The timeline editor's own JavaScript: drag clips to reorder (SortableJS), drag the selected clip's
// edges to trim, keyboard shortcuts, and a playhead that follows the player. Every change is posted
// as one edit; the server answers with the redrawn editor.
(function () {
  function editorEl() { return document.getElementById("editor"); }

  function post(values) {
    var editor = editorEl();
    var csrf = document.querySelector("meta[name=csrf-token]");
    values.base = editor.dataset.base;
    values.zoom = editor.dataset.pps;
    htmx.ajax("POST", editor.dataset.opUrl, {
      values: values, target: "#editor", swap: "outerHTML",
      headers: csrf ? { "X-CSRFToken": csrf.content } : {},
    });
  }

  function bindLane(root) {
    var lane = root.querySelector("[data-video-lane]");
    if (!lane || lane._sortable || !document.body.classList.contains("can-edit")) return;
    lane._sortable = Sortable.create(lane, {
      animation: 120, direction: "horizontal", forceFallback: true, handle: ".ed-grip",
      onEnd: function (event) {
        if (event.oldIndex === event.newIndex) return;
        post({ op: "move", clip: event.item.dataset.clip, to: event.newIndex });
      },
    });
  }

  // Trim handles: drag an edge of the selected clip; the inspector's In/Out follow, release applies.
  function bindHandles(root) {
    root.querySelectorAll(".ed-handle").forEach(function (handle) {
      handle.addEventListener("pointerdown", function (event) {
        event.preventDefault();
        event.stopPropagation();
        var clip = handle.closest(".ed-clip");
        var pps = parseFloat(editorEl().dataset.pps);
        var startX = event.clientX, width = clip.offsetWidth, left = clip.offsetLeft;
        var tin = parseFloat(clip.dataset.in), tout = parseFloat(clip.dataset.out), source = parseFloat(clip.dataset.source);
        var inInput = document.getElementById("trim-in"), outInput = document.getElementById("trim-out");
        handle.setPointerCapture(event.pointerId);
        function move(e) {
          var dt = (e.clientX - startX) / pps;
          if (handle.dataset.handle === "in") {
            var newIn = Math.min(Math.max(0, tin + dt), tout - 0.5);
            clip.style.left = left + (newIn - tin) * pps + "px";
            clip.style.width = width - (newIn - tin) * pps + "px";
            if (inInput) inInput.value = newIn.toFixed(2);
          } else {
            var newOut = Math.max(Math.min(source, tout + dt), tin + 0.5);
            clip.style.width = width + (newOut - tout) * pps + "px";
            if (outInput) outInput.value = newOut.toFixed(2);
          }
        }
        function up() {
          handle.removeEventListener("pointermove", move);
          handle.removeEventListener("pointerup", up);
          var form = document.getElementById("trim-form");
          if (form) htmx.trigger(form, "submit");
        }
        handle.addEventListener("pointermove", move);
        handle.addEventListener("pointerup", up);
      });
    });
  }

  // The playhead: where the player is, on the timeline (a clip plays from its place in the timeline).
  function bindPlayer(root) {
    var player = root.querySelector("#editor-player");
    var head = root.querySelector(".ed-playhead");
    if (!player || !head) return;
    function place() {
      var pps = parseFloat(editorEl().dataset.pps);
      var offset = parseFloat(player.dataset.offset || "0"), tin = parseFloat(player.dataset.in || "0");
      head.style.left = (offset + Math.max(player.currentTime - tin, 0)) * pps + "px";
      head.dataset.time = (offset + Math.max(player.currentTime - tin, 0)).toFixed(2);
    }
    player.addEventListener("timeupdate", place);
    player.addEventListener("seeked", place);
    // A clip plays its trimmed range only.
    player.addEventListener("timeupdate", function () {
      if (player.dataset.out && player.currentTime >= parseFloat(player.dataset.out)) player.pause();
    });
  }

  // A finished preview replaces whatever the player showed.
  document.addEventListener("htmx:load", function (event) {
    var ready = event.detail.elt.querySelector ? event.detail.elt.querySelector("#preview-ready") : null;
    if (!ready && event.detail.elt.id === "preview-ready") ready = event.detail.elt;
    var player = document.getElementById("editor-player");
    if (!ready || !player || player.dataset.src === ready.dataset.src) return;
    player.dataset.src = ready.dataset.src;
    player.dataset.offset = "0"; player.dataset.in = "0"; delete player.dataset.out;
    player.src = ready.dataset.src;
  });

  document.addEventListener("keydown", function (event) {
    if (!editorEl() || event.target.closest("input, textarea, select, [contenteditable]")) return;
    var key = event.key.toLowerCase();
    if (event.key === "Escape" && document.getElementById("deselect")) {
      event.preventDefault();
      document.getElementById("deselect").click();
    } else if ((event.ctrlKey || event.metaKey) && key === "z") {
      var button = document.getElementById(event.shiftKey ? "redo" : "undo");
      if (button && !button.disabled) { event.preventDefault(); button.click(); }
    } else if ((event.ctrlKey || event.metaKey) && key === "y") {
      var redo = document.getElementById("redo");
      if (redo && !redo.disabled) { event.preventDefault(); redo.click(); }
    } else if (event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      var move = document.getElementById(event.key === "ArrowLeft" ? "move-earlier" : "move-later");
      if (move && !move.disabled) { event.preventDefault(); move.click(); }
    }
  });

  function bind(root) {
    if (!root.querySelector) return;
    var scope = root.id === "editor" ? root : root.querySelector("#editor");
    if (!scope) return;
    bindLane(scope); bindHandles(scope); bindPlayer(scope);
  }
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (event) { bind(event.detail.elt); });
})();
