// Material for MkDocs' start-up helpers (its partials/javascripts/base.html), as a file so the
// Content-Security-Policy needs no inline script. The scope comes from the script tag.
var __md_scope = new URL(document.currentScript.dataset.scope, location),
  __md_hash = function (e) {
    return [].concat(Array.from(e)).reduce(function (e, t) { return (e << 5) - e + t.charCodeAt(0); }, 0);
  },
  __md_get = function (e, t, n) {
    t = t || localStorage;
    n = n || __md_scope;
    return JSON.parse(t.getItem(n.pathname + "." + e));
  },
  __md_set = function (e, t, n, a) {
    n = n || localStorage;
    a = a || __md_scope;
    try { n.setItem(a.pathname + "." + e, JSON.stringify(t)); } catch (err) { /* storage full or off */ }
  };
