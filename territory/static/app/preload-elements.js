// Territory: load the code of the element kinds its pages show while the page waits for the server.
//
// Streamlit's front end fetches the code of an element kind (a data frame, a select box, a
// component's iframe...) only when the first such element arrives from the server; on a page with
// a table the new elements, the map among them, appeared only after ~1.3 MB of data-frame code had
// been fetched and compiled. The server
// lists those files (Streamlit's build manifest) in the JSON element #territory-element-chunks;
// this script imports them once the page has loaded, the same URLs Streamlit would import, so
// that Streamlit finds them ready. A file that fails to load is left for Streamlit to load.
(function () {
  "use strict";
  var data = document.getElementById("territory-element-chunks");
  if (!data) {
    return;
  }
  var urls;
  try {
    urls = JSON.parse(data.textContent);
  } catch {
    return;
  }
  function start() {
    urls.forEach(function (url) {
      import(url).catch(function () {});
    });
  }
  if (document.readyState === "complete") {
    start();
  } else {
    window.addEventListener("load", start, {once: true});
  }
})();
