// Every staff page: the top bar's menu on a phone, search suggestions as one types, the
// unread notifications badge, and on the queue page a queue that refreshes itself.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  // ---- the menu on a narrow screen --------------------------------------------------
  var top = document.getElementById('top');
  var toggle = document.getElementById('menu-toggle');
  if (top && toggle) {
    toggle.addEventListener('click', function () {
      var open = top.classList.toggle('open');
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  }

  // ---- search suggestions -----------------------------------------------------------
  var form = document.getElementById('global-search');
  if (form) {
    var input = form.querySelector('input[name=q]');
    var list = document.getElementById('suggest');
    var timer = null, asked = '', active = -1, items = [];
    var close = function () {
      list.hidden = true; list.innerHTML = ''; items = []; active = -1;
      input.setAttribute('aria-expanded', 'false');
    };
    var mark = function (i) {
      if (active >= 0 && items[active]) items[active].classList.remove('on');
      active = i;
      if (active >= 0 && items[active]) {
        items[active].classList.add('on');
        input.setAttribute('aria-activedescendant', items[active].id);
      }
    };
    var show = function (q, data) {
      if (q !== input.value.trim()) return;
      list.innerHTML = '';
      items = [];
      var hits = (data.exact || []).map(function (h) { h.exactHit = true; return h; })
        .concat(data.hits || []).slice(0, 8);
      hits.forEach(function (h, i) {
        var li = document.createElement('li');
        li.setAttribute('role', 'option');
        li.id = 'suggest-' + i;
        li.dataset.href = h.url;
        var kind = document.createElement('span');
        kind.className = 'kind';
        kind.textContent = form.dataset[h.kind] || h.kind;
        var a = document.createElement('a');
        a.href = h.url;
        // Titles come escaped from the server with the matched words in <b>.
        a.innerHTML = h.title;
        li.appendChild(kind);
        li.appendChild(a);
        if (h.exactHit) {
          var x = document.createElement('span');
          x.className = 'exact';
          x.textContent = form.dataset.exact;
          li.appendChild(x);
        }
        list.appendChild(li);
        items.push(li);
      });
      var all = document.createElement('li');
      all.setAttribute('role', 'option');
      all.id = 'suggest-all';
      all.className = 'all';
      all.dataset.href = '/search?q=' + encodeURIComponent(q);
      var link = document.createElement('a');
      link.href = all.dataset.href;
      link.textContent = form.dataset.all + ' “' + q + '”';
      all.appendChild(link);
      list.appendChild(all);
      items.push(all);
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      active = -1;
    };
    var ask = function () {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      if (q === asked) return;
      asked = q;
      fetch('/api/v1/search?limit=6&q=' + encodeURIComponent(q), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) show(q, data); })
        .catch(function () { /* a failed suggestion is no suggestion */ });
    };
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 180);
    });
    input.addEventListener('keydown', function (e) {
      if (list.hidden) return;
      if (e.key === 'ArrowDown') { mark(Math.min(active + 1, items.length - 1)); e.preventDefault(); }
      else if (e.key === 'ArrowUp') { mark(Math.max(active - 1, 0)); e.preventDefault(); }
      else if (e.key === 'Escape') { close(); }
      else if (e.key === 'Enter' && active >= 0) { window.location = items[active].dataset.href; e.preventDefault(); }
    });
    document.addEventListener('click', function (e) { if (!form.contains(e.target)) close(); });
  }

  // ---- canned replies on a request --------------------------------------------------
  var pick = document.getElementById('reply-pick');
  if (pick) {
    var pickInput = pick.querySelector('input');
    var options = document.getElementById('reply-options');
    var body = document.querySelector('#message-form textarea[name=body]');
    var found = [], pickAt = -1, pickTimer = null;
    var closePick = function () { options.hidden = true; options.innerHTML = ''; found = []; pickAt = -1; pickInput.setAttribute('aria-expanded', 'false'); };
    var use = function (r) {
      body.value = body.value.trim() ? body.value.replace(/\s*$/, '\n\n') + r.text : r.text;
      body.dispatchEvent(new Event('input'));
      pickInput.value = '';
      closePick();
      body.focus();
    };
    var loadReplies = function () {
      var q = pickInput.value.trim();
      fetch('/api/v1/requests/' + pick.dataset.request + '/replies?q=' + encodeURIComponent(q), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (rs) {
          if (q !== pickInput.value.trim()) return;
          options.innerHTML = '';
          found = rs.slice(0, 8);
          found.forEach(function (r, i) {
            var li = document.createElement('li');
            li.setAttribute('role', 'option');
            li.id = 'reply-' + i;
            li.dataset.reply = r.id;
            var name = document.createElement('strong');
            name.textContent = r.name;
            var text = document.createElement('span');
            text.className = 'preview';
            text.textContent = r.text;
            li.appendChild(name);
            li.appendChild(text);
            li.addEventListener('mousedown', function (e) { e.preventDefault(); use(r); });
            options.appendChild(li);
          });
          options.hidden = found.length === 0;
          pickInput.setAttribute('aria-expanded', found.length ? 'true' : 'false');
          pickAt = -1;
        })
        .catch(function () {});
    };
    pickInput.addEventListener('input', function () { clearTimeout(pickTimer); pickTimer = setTimeout(loadReplies, 150); });
    pickInput.addEventListener('focus', loadReplies);
    pickInput.addEventListener('blur', function () { setTimeout(closePick, 150); });
    pickInput.addEventListener('keydown', function (e) {
      var items = options.querySelectorAll('li');
      if (e.key === 'ArrowDown' && items.length) { pickAt = Math.min(pickAt + 1, items.length - 1); }
      else if (e.key === 'ArrowUp' && items.length) { pickAt = Math.max(pickAt - 1, 0); }
      else if (e.key === 'Enter') { e.preventDefault(); if (found[Math.max(pickAt, 0)]) use(found[Math.max(pickAt, 0)]); return; }
      else if (e.key === 'Escape') { closePick(); return; }
      else return;
      e.preventDefault();
      items.forEach(function (li, i) { li.classList.toggle('on', i === pickAt); });
      if (items[pickAt]) pickInput.setAttribute('aria-activedescendant', items[pickAt].id);
    });
  }

  // ---- unread notifications ---------------------------------------------------------
  var badge = document.getElementById('unread');
  var unread = function () {
    fetch('/api/v1/notifications/unread', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        badge.hidden = d.unread === 0;
        badge.textContent = d.unread >= 100 ? '99+' : String(d.unread);
        badge.title = d.unread + ' ' + badge.dataset.label;
        badge.setAttribute('aria-label', badge.title);
      })
      .catch(function () {});
  };
  if (badge) { unread(); setInterval(unread, 60000); }

  // ---- the queue refreshes itself and marks what is new -----------------------------
  var queue = document.querySelector('table.queue tbody');
  var fresh = document.getElementById('queue-fresh');
  if (queue && fresh) {
    var key = 'aftercare.seen.' + location.pathname + location.search.replace(/[?&]done=[^&]*/, '');
    var ids = function (root) {
      return Array.prototype.map.call(root.querySelectorAll('tr[data-id]'), function (tr) { return tr.dataset.id; });
    };
    var seen = null;
    try { seen = JSON.parse(localStorage.getItem(key) || 'null'); } catch (e) { seen = null; }
    var markNew = function (root) {
      if (!seen) return;
      root.querySelectorAll('tr[data-id]').forEach(function (tr) {
        if (seen.indexOf(tr.dataset.id) < 0) {
          tr.classList.add('new');
          var cell = tr.querySelector('td:nth-child(2)');
          if (cell && !cell.querySelector('.badge.new')) {
            var b = document.createElement('span');
            b.className = 'badge new';
            b.textContent = fresh.dataset.new;
            cell.appendChild(document.createTextNode(' '));
            cell.appendChild(b);
          }
        }
      });
    };
    var remember = function (root) {
      var all = (seen || []).concat(ids(root));
      try { localStorage.setItem(key, JSON.stringify(all.slice(-500))); } catch (e) {}
    };
    markNew(document);
    remember(document);
    seen = JSON.parse(localStorage.getItem(key) || '[]');
    var busy = function () {
      var el = document.activeElement;
      return document.querySelector('table.queue input[type=checkbox]:checked') ||
        (el && (el.tagName === 'INPUT' || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA'));
    };
    var refresh = function () {
      if (busy()) return Promise.resolve(false);
      return fetch(location.href, { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var body = doc.querySelector('table.queue tbody');
          var tabs = doc.querySelector('nav.tabs');
          if (!body || busy()) return;
          markNew(body);
          queue.replaceWith(body);
          queue = body;
          var oldTabs = document.querySelector('nav.tabs');
          if (tabs && oldTabs) oldTabs.replaceWith(tabs);
          remember(body);
          fresh.hidden = false;
          fresh.textContent = fresh.dataset.refreshed + ' ' + new Date().toLocaleTimeString();
          document.dispatchEvent(new Event('queue-refreshed'));
          return true;
        })
        .catch(function () { return false; });
    };
    window.aftercareRefreshQueue = refresh;
    setInterval(function () { if (!document.hidden) refresh(); }, 30000);
  }
})();
