// The origin list offers only the towns of the product chosen: one group per product, in the products'
// order (coop._batch_form), the others hidden. Without this script every licensed product's towns are
// listed, and the registry refuses a wrong pair.
// A town may sit in several groups (the 资味 brand covers the whole city): the town chosen is kept by
// its code when the product changes or the server shows the form again, not only by its place in the list.
(function () {
  var product = document.getElementById("product_code");
  var origin = document.getElementById("origin_code");
  if (!product || !origin) return;
  function follow() {
    var wanted = origin.value;
    var groups = origin.getElementsByTagName("optgroup");
    for (var i = 0; i < groups.length; i++) {
      var mine = i === product.selectedIndex;
      groups[i].hidden = groups[i].disabled = !mine;
    }
    var current = origin.options[origin.selectedIndex];
    if (current && !current.parentNode.disabled) return;
    origin.selectedIndex = -1;
    var first = -1;
    for (var j = 0; j < origin.options.length; j++) {
      if (origin.options[j].parentNode.disabled) continue;
      if (origin.options[j].value === wanted) { origin.selectedIndex = j; return; }
      if (first === -1) first = j;
    }
    origin.selectedIndex = first;
  }
  product.addEventListener("change", follow);
  follow();
})();
