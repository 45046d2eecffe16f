/* The saved widgets' labels may hold $…$ math, which ipywidgets typesets with MathJax 2's
 * `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`. The site serves MathJax 3, which has
 * no `Hub` (every widget view whose label is typeset would throw "reading 'Queue'" and stay
 * blank). This file gives MathJax 3 that one call, forwarded to `MathJax.typesetPromise`.
 * It runs deferred after MathJax's own script (docs/conf.py gives it a later priority) and
 * before the widgets are drawn, which happens on the page's load event. */
(function () {
    "use strict";
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) {
        return;  // no MathJax on this page, or a MathJax 2 that has the real Hub
    }
    mathjax.Hub = {
        Queue: function (command) {
            var element = Array.isArray(command) ? command[2] : undefined;
            mathjax.startup.promise = mathjax.startup.promise
                .then(function () { return mathjax.typesetPromise(element ? [element] : undefined); })
                .catch(function (error) { console.warn("MathJax could not typeset a widget label:", error); });
        },
    };
})();
