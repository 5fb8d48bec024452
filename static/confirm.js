// Asks once more before a step that cannot be taken back (revoke, recall, deactivate, a new password, closing
// or dismissing a case).
// The forms say what the step does in words too; without this script they still work.
// A form whose required reason is still empty is not asked about: the server refuses it and says why,
// and a "for good?" answered yes before that refusal would only confuse. An optional reason (deactivating
// an account) does not stop the question.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (!question) return;
  // A form of several steps asks only before those it names (data-confirm-for="closed dismissed").
  var only = form.getAttribute("data-confirm-for");
  var choice = form.querySelector("select");
  if (only && choice && only.split(" ").indexOf(choice.value) < 0) return;
  var reasons = form.querySelectorAll("textarea[name$='reason'][required], input[name$='reason'][required]");
  for (var i = 0; i < reasons.length; i++) {
    if (!reasons[i].value.trim()) return;
  }
  if (!window.confirm(question)) event.preventDefault();
});
