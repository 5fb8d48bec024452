// Asks once more before a step that cannot be taken back (revoke, recall, deactivate, a new password).
// The forms say what the step does in words too; without this script they still work.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
