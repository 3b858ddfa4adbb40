// The search page: Pagefind's UI over this language's index; ?q= from the header form.
(function () {
  var arabic = document.documentElement.lang === "ar";
  // Digit runs ("8043 0060 0010 32400", "05X", 2026-12-01) are isolated left-to-right, so that
  // an Arabic line never shows an account number's groups in reverse.
  var NUMBER = /[0-9\u0660-\u0669][0-9\u0660-\u0669 .\/-]*[0-9\u0660-\u0669]|[0-9\u0660-\u0669]/g;
  function isolate(text) {
    return (text || "").replace(/\u00b6/g, "").replace(NUMBER, "\u2066$&\u2069");
  }
  var ui = new PagefindUI({
    element: "#search",
    showImages: false,
    showSubResults: true,
    resetStyles: false,
    processResult: function (result) {
      result.excerpt = isolate(result.excerpt);
      if (result.meta && result.meta.title) result.meta.title = isolate(result.meta.title);
      (result.sub_results || []).forEach(function (sub) {
        sub.excerpt = isolate(sub.excerpt);
        sub.title = isolate(sub.title);
      });
      return result;
    },
    // Natural Arabic whatever the count (no plural to agree with).
    translations: arabic ? {
      zero_results: "لا توجد نتائج لـ«[SEARCH_TERM]»",
      one_result: "نتيجة واحدة لـ«[SEARCH_TERM]»",
      many_results: "عدد النتائج لـ«[SEARCH_TERM]»: [COUNT]"
    } : {}
  });
  // Pagefind's input has only a title; name it by the page's visible heading.
  var heading = document.querySelector("article h1");
  var languageLink = document.querySelector("a.portal-lang");
  var plainLink = languageLink ? languageLink.getAttribute("href") : null;
  function keep(words) {
    // The other language's search page opens with the same words.
    if (!languageLink) return;
    var base = plainLink.split("?")[0];
    languageLink.setAttribute("href", words ? base + "?q=" + encodeURIComponent(words) : base);
    var url = new URL(window.location.href);
    if (words) url.searchParams.set("q", words); else url.searchParams.delete("q");
    window.history.replaceState(null, "", url.pathname + url.search);
  }
  (function label() {
    var input = document.querySelector(".pagefind-ui__search-input");
    if (!input || !heading) return window.requestAnimationFrame(label);
    heading.id = heading.id || "search-heading";
    input.setAttribute("aria-labelledby", heading.id);
    input.addEventListener("input", function () { keep(input.value.trim()); });
  })();
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) {
    ui.triggerSearch(q);
    keep(q);
  }
})();
