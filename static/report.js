// Optional: says at once when chosen photos are too many or too large, before a long upload is refused.
// The server checks the same limits; without this script the form still works.
(function () {
  var input = document.querySelector("input[type=file][data-max-bytes]");
  if (!input || !window.FileList) return;
  var form = input.form, note = document.getElementById("photo-problem");
  function problem() {
    var files = Array.prototype.slice.call(input.files || []);
    if (files.length > Number(input.dataset.maxCount)) return note.dataset.tooMany;
    var big = files.filter(function (file) { return file.size > Number(input.dataset.maxBytes); });
    return big.length ? note.dataset.tooLarge.replace("%s", big.map(function (f) { return f.name; }).join(", ")) : "";
  }
  function show() {
    var text = problem();
    note.textContent = text;
    note.hidden = !text;
    return !text;
  }
  input.addEventListener("change", show);
  // A field being corrected no longer shows the server's complaint about what it held before.
  form.addEventListener("input", function (event) {
    var field = event.target.closest && event.target.closest(".field");
    if (!field) return;
    Array.prototype.forEach.call(field.querySelectorAll("p.error"), function (p) { p.hidden = true; });
  });
  // The language switch sends the words alone (urlencoded, report.html): the photos' sizes are no matter.
  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.hasAttribute("formaction")) return;
    if (!show()) event.preventDefault();
  });
})();
