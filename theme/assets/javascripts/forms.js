// The forms service: a print button for the receipt, and the support request kept when the
// language is switched half-way (the pages work without this script).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
(function () {
  var form = document.querySelector("form.portal-form[data-keeps-draft]");
  if (!form) return;
  var changed = false;
  form.addEventListener("input", function () { changed = true; });
  form.addEventListener("change", function () { changed = true; });
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.portal-lang");
    if (!link || !changed) return;
    // Save what was typed (and the files chosen) first; the server then opens the other
    // language's page with it.
    event.preventDefault();
    var action = document.createElement("input");
    action.type = "hidden";
    action.name = "action";
    action.value = "switch-language";
    form.appendChild(action);
    form.submit();
  });
})();
