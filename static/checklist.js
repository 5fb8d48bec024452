// A list of checkboxes in a scrolling box (a product's protected area, 93 areas) opens at the first one
// ticked: the county an admin came to change is otherwise out of sight, and the list looks empty.
(function () {
  var lists = document.querySelectorAll("ul.checklist");
  for (var i = 0; i < lists.length; i++) {
    var first = lists[i].querySelector("input:checked");
    if (!first) continue;
    var item = first.parentNode.getBoundingClientRect();
    lists[i].scrollTop += item.top - lists[i].getBoundingClientRect().top - 8;
  }
})();
