// The origin list offers only the towns of the product chosen: one group per product, in the products'
// order (coop._batch_form), the others hidden. Without this script every licensed product's towns are
// listed, and the registry refuses a wrong pair.
(function () {
  var product = document.getElementById("product_code");
  var origin = document.getElementById("origin_code");
  if (!product || !origin) return;
  function follow() {
    var groups = origin.getElementsByTagName("optgroup");
    for (var i = 0; i < groups.length; i++) {
      var mine = i === product.selectedIndex;
      groups[i].hidden = groups[i].disabled = !mine;
      if (!mine && groups[i].contains(origin.options[origin.selectedIndex])) origin.selectedIndex = -1;
    }
    if (origin.selectedIndex === -1) {
      for (var j = 0; j < origin.options.length; j++) {
        if (!origin.options[j].parentNode.disabled) { origin.selectedIndex = j; break; }
      }
    }
  }
  product.addEventListener("change", follow);
  follow();
})();
