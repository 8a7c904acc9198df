// Keyboard use of the queue: j/k move, x selects, Enter or o opens, a selects all.
(function () {
  var all = function () { return Array.prototype.slice.call(document.querySelectorAll('table.queue tbody tr[data-href]')); };
  var rows = all();
  if (!document.querySelector('table.queue')) return;
  var at = -1;
  // The queue refreshes itself (app.js): the rows are new, the cursor starts again.
  document.addEventListener('queue-refreshed', function () { rows = all(); at = -1; });
  function focus(i) {
    if (i < 0 || i >= rows.length) return;
    if (at >= 0) rows[at].classList.remove('cursor');
    at = i;
    rows[at].classList.add('cursor');
    rows[at].scrollIntoView({ block: 'nearest' });
  }
  document.addEventListener('keydown', function (e) {
    var t = e.target.tagName;
    if (t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT' || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'j') focus(at + 1);
    else if (e.key === 'k') focus(Math.max(at - 1, 0));
    else if (e.key === 'x' && at >= 0) { var c = rows[at].querySelector('input[type=checkbox]'); c.checked = !c.checked; }
    else if ((e.key === 'Enter' || e.key === 'o') && at >= 0) window.location = rows[at].dataset.href;
    else if (e.key === 'a') rows.forEach(function (r) { r.querySelector('input[type=checkbox]').checked = true; });
    else return;
    e.preventDefault();
  });
})();
