// The forms service: a print button for the receipt (the page works without it).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
