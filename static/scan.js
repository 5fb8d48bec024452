// Optional: the consumer may share a coarse place for the scan they just made. The page works without this.
(function () {
  var box = document.querySelector(".share");
  if (!box || !navigator.geolocation || !window.fetch) return;
  box.hidden = false;
  function denied() {
    box.querySelector(".denied").hidden = false;  // not read or not stored: say so, the verdict stands
  }
  box.querySelector("button").addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (position) {
      fetch(box.dataset.url, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({token: box.dataset.token, lat: position.coords.latitude, lon: position.coords.longitude})
      }).then(function (response) {
        return response.ok ? response.json() : {stored: false};
      }).then(function (answer) {
        if (!answer.stored) return denied();  // shared already, expired, or too many at once
        box.querySelector("button").hidden = true;
        box.querySelector(".done").hidden = false;
        // The code now counts as copied: show the page again (not a new scan) so its verdict says so.
        if (answer.warning) location.replace(box.dataset.again);
      }, denied);
    }, denied, {maximumAge: 600000, timeout: 10000});
  });
})();
