// The review page: text selected in a document fills the "add a mark"
// form with the text, the part it is in and where it starts (characters
// from the part's beginning), so the server marks the occurrence chosen.
"use strict";
document.addEventListener("mouseup", function () {
  var sel = window.getSelection();
  if (!sel || sel.isCollapsed || sel.rangeCount === 0) return;
  var text = sel.toString().trim();
  if (!text) return;
  var range = sel.getRangeAt(0);
  var node = range.startContainer;
  var el = node.nodeType === 3 ? node.parentElement : node;
  if (!el || !el.closest) return;
  var seg = el.closest("[data-at]");
  var part = el.closest("[data-part]");
  var form = document.getElementById("add-mark");
  if (!seg || !part || !form) return;
  var lead = sel.toString().length - sel.toString().replace(/^\s+/, "").length;
  var offset = node.nodeType === 3 ? range.startOffset : 0;
  document.getElementById("mark-text").value = text;
  document.getElementById("mark-part").value = part.getAttribute("data-part");
  document.getElementById("mark-at").value = String(parseInt(seg.getAttribute("data-at"), 10) + offset + lead);
});
