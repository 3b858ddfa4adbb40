// The search page: Pagefind's UI over this language's index; ?q= from the header form.
(function () {
  var ui = new PagefindUI({
    element: "#search",
    showImages: false,
    showSubResults: true,
    resetStyles: false
  });
  // Pagefind's input has only a title; name it by the page's visible heading.
  var heading = document.querySelector("article h1");
  (function label() {
    var input = document.querySelector(".pagefind-ui__search-input");
    if (!input || !heading) return window.requestAnimationFrame(label);
    heading.id = heading.id || "search-heading";
    input.setAttribute("aria-labelledby", heading.id);
  })();
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) ui.triggerSearch(q);
})();
