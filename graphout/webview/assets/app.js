// kcmpgraph's interactive view: the diagram of a model (positions come
// with it), search, panels for processes, objects, edges and findings.
//
// Every string of the model came from /proc or a snapshot and is set
// with textContent or as the value of an attribute of our own choosing,
// never as markup.
'use strict';
(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  let M = null;          // the model
  let byPid = new Map(); // pid -> process
  let haystack = [];     // per process: lower-case text that search looks in
  let panZoom = null;
  let svg = null;
  let boxEls = [];

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
    return e;
  }

  function button(text, onclick, cls) {
    const b = el('button', cls || 'link', text);
    b.type = 'button';
    b.addEventListener('click', onclick);
    return b;
  }

  // ---- loading ----

  function start() {
    const data = $('kg-data');
    if (data) {
      show(JSON.parse(data.textContent));
      return;
    }
    fetch('api/model', { credentials: 'same-origin' })
      .then((r) => { if (!r.ok) throw new Error('api/model: ' + r.status); return r.json(); })
      .then(show)
      .catch(fail);
  }

  function fail(err) {
    const p = $('panel');
    p.replaceChildren(el('p', 'error', String(err && err.message ? err.message : err)));
  }

  function show(m) {
    M = m;
    byPid = new Map();
    haystack = [];
    for (const p of M.procs) {
      byPid.set(p.pid, p);
      const parts = [p.comm, p.cmd, p.exe, p.user, p.place, String(p.uid)].concat(p.container);
      for (const f of p.fds) parts.push(f.name);
      haystack.push(parts.join('\n').toLowerCase());
    }
    document.title = M.title;
    $('title').textContent = M.title;
    $('rescan').hidden = !M.live;
    drawToggles();
    drawList();
    const notes = $('notes');
    notes.replaceChildren();
    for (const n of M.notes) notes.appendChild(el('li', '', n));
    if (!M.notes.length) notes.appendChild(el('li', '', 'none'));
    drawDiagram();
    $('panel').replaceChildren(el('p', 'hint', M.procs.length + ' processes, ' + M.boxes.length +
      ' boxes, ' + M.edges.length + ' edges. Click a box, an edge, a finding or a search result.'));
    const q = $('search').value;
    if (q) search(q);
    document.body.dataset.ready = '1';
  }

  // ---- the diagram ----

  function center(b) { return [b.x + b.w / 2, b.y + b.h / 2]; }

  function drawDiagram() {
    const canvas = $('canvas');
    if (panZoom) { panZoom.destroy(); panZoom = null; }
    canvas.replaceChildren();
    const w = Math.max(M.width, 100), h = Math.max(M.height, 100);
    svg = svgEl('svg', { viewBox: '0 0 ' + w + ' ' + h, role: 'img', 'aria-label': 'sharing diagram' });
    // svg-pan-zoom keeps an overflow it finds set.
    svg.style.overflow = 'hidden';
    const vp = svgEl('g', { class: 'svg-pan-zoom_viewport' });
    const tree = svgEl('g', {}), edges = svgEl('g', {}), boxes = svgEl('g', {});
    vp.append(tree, edges, boxes);
    svg.appendChild(vp);
    for (const b of M.boxes) {
      if (b.parent < 0) continue;
      const p = M.boxes[b.parent];
      tree.appendChild(svgEl('path', { class: 'tree',
        d: 'M' + (p.x + p.w / 2) + ',' + (p.y + p.h) + ' L' + (b.x + b.w / 2) + ',' + b.y }));
    }
    // Parallel edges between one pair of boxes bend apart.
    const seen = new Map();
    M.edges.forEach((e, i) => {
      const k = e.a + ',' + e.b;
      const n = seen.get(k) || 0;
      seen.set(k, n + 1);
      const [x1, y1] = center(M.boxes[e.a]), [x2, y2] = center(M.boxes[e.b]);
      const off = (n % 2 ? -1 : 1) * Math.ceil(n / 2) * 14;
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const cx = (x1 + x2) / 2 - (y2 - y1) / len * off, cy = (y1 + y2) / 2 + (x2 - x1) / len * off;
      const path = svgEl('path', { class: 'edge t-' + e.type + (e.status ? ' s-' + e.status : ''),
        d: 'M' + x1 + ',' + y1 + ' Q' + cx + ',' + cy + ' ' + x2 + ',' + y2, 'data-edge': i });
      const title = svgEl('title', {});
      title.textContent = e.type + ': ' + e.objects.length + (e.objects.length === 1 ? ' object' : ' objects');
      path.appendChild(title);
      path.addEventListener('click', (ev) => { ev.stopPropagation(); showEdge(i); });
      edges.appendChild(path);
    });
    boxEls = M.boxes.map((b, i) => {
      const g = svgEl('g', { class: 'box' + (b.pids.length > 1 ? ' group' : '') + (b.status ? ' s-' + b.status : ''),
        transform: 'translate(' + b.x + ',' + b.y + ')', 'data-box': i });
      g.appendChild(svgEl('rect', { width: b.w, height: b.h, rx: 5 }));
      b.lines.forEach((line, j) => {
        const t = svgEl('text', { x: 8, y: 16 + j * 15 });
        t.textContent = line;
        g.appendChild(t);
      });
      g.addEventListener('click', (ev) => { ev.stopPropagation(); showBox(i); });
      boxes.appendChild(g);
      return g;
    });
    canvas.appendChild(svg);
    for (const t of M.types) {
      if (!$('toggle-' + t.name).checked) svg.classList.add('hide-' + t.name);
    }
    panZoom = svgPanZoom(svg, { viewportSelector: '.svg-pan-zoom_viewport', zoomScaleSensitivity: 0.3,
      minZoom: 0.02, maxZoom: 50, dblClickZoomEnabled: false, fit: true, center: true });
  }

  // focus zooms to show boxes xs.
  function focus(xs) {
    if (!xs.length || !panZoom) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const x of xs) {
      const b = M.boxes[x];
      x0 = Math.min(x0, b.x); y0 = Math.min(y0, b.y);
      x1 = Math.max(x1, b.x + b.w); y1 = Math.max(y1, b.y + b.h);
    }
    const s = panZoom.getSizes();
    const base = s.realZoom / panZoom.getZoom();
    const want = Math.min(s.width / (x1 - x0 + 120), s.height / (y1 - y0 + 120), 1.6);
    panZoom.zoom(want / base);
    const z = panZoom.getSizes().realZoom;
    panZoom.pan({ x: s.width / 2 - (x0 + x1) / 2 * z, y: s.height / 2 - (y0 + y1) / 2 * z });
  }

  function mark(cls, xs) {
    for (const g of boxEls) g.classList.remove(cls);
    for (const x of xs) if (boxEls[x]) boxEls[x].classList.add(cls);
  }

  function boxesOf(pids) {
    const out = new Set();
    for (const pid of pids) {
      const p = byPid.get(pid);
      if (p && p.box >= 0) out.add(p.box);
    }
    return Array.from(out);
  }

  // ---- toggles, lists ----

  function drawToggles() {
    const div = $('toggles');
    const was = new Map();
    for (const t of M.types) {
      const old = $('toggle-' + t.name);
      if (old) was.set(t.name, old.checked);
    }
    div.replaceChildren();
    for (const t of M.types) {
      const label = el('label');
      label.title = t.label;
      const box = el('input');
      box.type = 'checkbox';
      box.id = 'toggle-' + t.name;
      box.checked = was.has(t.name) ? was.get(t.name) : true;
      box.disabled = t.edges === 0;
      box.addEventListener('change', () => svg.classList.toggle('hide-' + t.name, !box.checked));
      const sw = el('span', 'swatch sw-' + t.name);
      label.append(box, sw, document.createTextNode(t.name + ' (' + t.edges + ')'));
      div.appendChild(label);
    }
  }

  function drawList() {
    const list = $('list');
    list.replaceChildren();
    if (M.mode === 'diff') {
      $('list-title').textContent = 'Changes (' + M.changes.length + ')';
      M.changes.forEach((c, i) => {
        const li = el('li');
        const b = button('', () => { select(li); showChange(i); });
        b.append(el('span', 'sev st-' + c.status, c.status), document.createTextNode(' '));
        if (c.leak) b.append(el('span', 'leak', 'LEAK '));
        b.append(document.createTextNode(c.text));
        li.appendChild(b);
        list.appendChild(li);
      });
      if (!M.changes.length) list.appendChild(el('li', 'hint', 'no differences'));
      return;
    }
    $('list-title').textContent = 'Findings (' + M.findings.length + ')';
    M.findings.forEach((f, i) => {
      const li = el('li');
      const b = button('', () => { select(li); showFinding(i); });
      b.append(el('span', 'sev sev-' + f.severity, f.severity), document.createTextNode(' ' + f.rule + ' ' + f.title));
      li.appendChild(b);
      list.appendChild(li);
    });
    if (!M.findings.length) list.appendChild(el('li', 'hint', 'no findings'));
  }

  function select(li) {
    for (const x of $('list').children) x.classList.remove('selected');
    if (li) li.classList.add('selected');
  }

  // ---- search ----

  function search(q) {
    q = q.trim().toLowerCase();
    if (!svg) return;
    if (!q) {
      svg.classList.remove('searching');
      mark('hit', []);
      $('hits').textContent = '';
      return;
    }
    const num = /^\d+$/.test(q) ? Number(q) : -1;
    const hits = [];
    M.procs.forEach((p, i) => {
      if (p.pid === num || haystack[i].includes(q)) hits.push(p);
    });
    hits.sort((a, b) => (b.pid === num) - (a.pid === num) || a.pid - b.pid);
    const xs = boxesOf(hits.map((p) => p.pid));
    svg.classList.add('searching');
    mark('hit', xs);
    $('hits').textContent = hits.length === 1 ? '1 process' : hits.length + ' processes';
    focus(xs);
    const panel = $('panel');
    panel.replaceChildren(el('h2', '', 'Search: ' + q));
    if (!hits.length) { panel.appendChild(el('p', 'hint', 'nothing matches')); return; }
    const ul = el('ul');
    for (const p of hits.slice(0, 200)) {
      const li = el('li');
      li.append(button(p.comm + ' ' + p.pid, () => showProc(p.pid)), el('span', 'also', ' ' + why(p, q)));
      ul.appendChild(li);
    }
    panel.appendChild(ul);
    if (hits.length > 200) panel.appendChild(el('p', 'hint', (hits.length - 200) + ' more; narrow the search'));
    return hits;
  }

  // why says where a process matched.
  function why(p, q) {
    if (String(p.pid) === q) return 'pid';
    for (const [name, v] of [['command', p.comm], ['command line', p.cmd], ['user', p.user], ['where', p.place], ['executable', p.exe]]) {
      if (v && v.toLowerCase().includes(q)) return name + ': ' + v;
    }
    for (const f of p.fds) if (f.name.toLowerCase().includes(q)) return 'fd ' + f.fd + ': ' + f.name;
    for (const c of p.container) if (c.toLowerCase().includes(q)) return c;
    return '';
  }

  // ---- panels ----

  function procButton(pid, extra) {
    const p = byPid.get(pid);
    const name = (p ? p.comm : '?') + ' ' + pid + (extra || '');
    return button(name, () => showProc(pid));
  }

  function holderText(r) {
    if (r.fd < 0) return ' task ' + r.tid;
    return ' fd ' + r.fd + (r.tid ? ' (thread ' + r.tid + ')' : '');
  }

  function panel(title) {
    const p = $('panel');
    p.replaceChildren(el('h2', '', title));
    p.scrollTop = 0;
    return p;
  }

  function facts(rows) {
    const dl = el('dl');
    for (const [k, v, node] of rows) {
      if (!v && !node) continue;
      dl.append(el('dt', '', k));
      const dd = el('dd', k === 'command line' ? 'mono' : '');
      if (node) dd.appendChild(node); else dd.textContent = v;
      dl.append(dd);
    }
    return dl;
  }

  function showBox(x) {
    const b = M.boxes[x];
    if (b.pids.length === 1) { showProc(b.pids[0]); return; }
    const p = panel(b.lines[0]);
    mark('selected', [x]);
    mark('related', []);
    p.appendChild(el('p', '', b.lines.slice(1).join(' · ')));
    p.appendChild(el('h3', '', b.pids.length + ' processes drawn as this box'));
    const ul = el('ul');
    for (const pid of b.pids.slice(0, 1000)) {
      const li = el('li');
      li.appendChild(procButton(pid));
      ul.appendChild(li);
    }
    p.appendChild(ul);
  }

  function showProc(pid) {
    const pr = byPid.get(pid);
    if (!pr) return;
    const p = panel(pr.comm + ' · pid ' + pr.pid);
    const parent = byPid.get(pr.ppid);
    const user = pr.user + ' (uid ' + pr.uid + (pr.euid !== pr.uid ? ', euid ' + pr.euid : '') + ')';
    p.appendChild(facts([
      ['command line', pr.cmd],
      ['executable', pr.exe],
      ['user', user],
      ['parent', parent ? '' : String(pr.ppid), parent ? procButton(pr.ppid) : null],
      ['state', pr.state + (pr.status ? ' · ' + pr.status : '')],
      ['threads', String(pr.threads)],
      ['where', pr.place],
    ]));
    if (pr.container.length) {
      p.appendChild(el('h3', '', 'Container, unit'));
      const ul = el('ul');
      for (const c of pr.container) ul.appendChild(el('li', '', c));
      p.appendChild(ul);
    }
    if (pr.ns.length) {
      p.appendChild(el('h3', '', 'Namespaces'));
      p.appendChild(el('p', 'mono', pr.ns.join(' · ')));
    }
    const related = new Set();
    if (pr.tasks.length) {
      p.appendChild(el('h3', '', 'Shares'));
      const ul = el('ul');
      for (const oi of pr.tasks) {
        const o = M.objects[oi];
        const li = el('li', '', o.name + ' (' + o.type + ') with ');
        const others = new Set(o.holders.map((h) => h.pid).filter((q) => q !== pid));
        for (const q of others) { li.append(procButton(q), document.createTextNode(' ')); related.add(q); }
        if (!others.size) li.append(document.createTextNode('its own threads only'));
        ul.appendChild(li);
      }
      p.appendChild(ul);
    }
    p.appendChild(el('h3', '', pr.fds.length === 1 ? '1 fd' : pr.fds.length + ' fds'));
    const table = el('table');
    for (const f of pr.fds.slice(0, 2000)) {
      const tr = el('tr');
      tr.appendChild(el('td', 'num', String(f.fd) + (f.tid ? '/' + f.tid : '')));
      const what = el('td');
      if (f.obj >= 0) what.appendChild(button(f.name, () => showObject(f.obj)));
      else what.textContent = f.name;
      if (f.obj >= 0) {
        const o = M.objects[f.obj];
        const also = el('div', 'also');
        const others = o.holders.filter((h) => !(h.pid === pid && h.fd === f.fd && (h.tid || 0) === (f.tid || 0)));
        if (others.length) {
          also.append(document.createTextNode('also held by '));
          for (const h of others.slice(0, 20)) { also.append(procButton(h.pid, holderText(h)), document.createTextNode(' ')); related.add(h.pid); }
          if (others.length > 20) also.append(document.createTextNode('and ' + (others.length - 20) + ' more'));
        }
        for (const peer of o.peers || []) {
          const po = M.objects[peer];
          const d = el('div', 'also', 'other end' + (po.end ? ' (' + po.end + ')' : '') + ': ');
          for (const h of po.holders.slice(0, 20)) { d.append(procButton(h.pid, holderText(h)), document.createTextNode(' ')); related.add(h.pid); }
          also.appendChild(d);
        }
        if ((o.watchers || []).length) {
          const d = el('div', 'also', 'watched by epoll in ');
          for (const h of o.watchers.slice(0, 20)) { d.append(procButton(h.pid, holderText(h)), document.createTextNode(' ')); related.add(h.pid); }
          also.appendChild(d);
        }
        if (also.childNodes.length) what.appendChild(also);
      }
      tr.appendChild(what);
      table.appendChild(tr);
    }
    p.appendChild(table);
    if (pr.fds.length > 2000) p.appendChild(el('p', 'hint', (pr.fds.length - 2000) + ' more fds not listed'));
    related.delete(pid);
    mark('selected', pr.box >= 0 ? [pr.box] : []);
    mark('related', boxesOf(Array.from(related)).filter((x) => x !== pr.box));
  }

  function holderList(holders) {
    const ul = el('ul');
    for (const h of holders.slice(0, 500)) {
      const li = el('li');
      li.appendChild(procButton(h.pid, holderText(h)));
      ul.appendChild(li);
    }
    if (holders.length > 500) ul.appendChild(el('li', 'hint', (holders.length - 500) + ' more'));
    return ul;
  }

  function showObject(i) {
    const o = M.objects[i];
    const p = panel(o.name + (o.end ? ' ' + o.end : ''));
    p.appendChild(facts([['type', o.type + (o.kind ? ' · ' + o.kind : '')], ['channel', o.channel], ['end', o.end]]));
    p.appendChild(el('h3', '', 'Held by'));
    p.appendChild(holderList(o.holders));
    const pids = o.holders.map((h) => h.pid);
    for (const peer of o.peers || []) {
      const po = M.objects[peer];
      p.appendChild(el('h3', '', 'Other end' + (po.end ? ': ' + po.end : '')));
      p.appendChild(holderList(po.holders));
      for (const h of po.holders) pids.push(h.pid);
    }
    if ((o.watchers || []).length) {
      p.appendChild(el('h3', '', 'Watched by epoll'));
      p.appendChild(holderList(o.watchers));
    }
    mark('selected', []);
    mark('related', boxesOf(pids));
  }

  function showEdge(i) {
    const e = M.edges[i];
    const a = M.boxes[e.a], b = M.boxes[e.b];
    const p = panel(e.type + ': ' + a.lines[0] + ' — ' + b.lines[0]);
    if (e.status) p.appendChild(el('p', 'st-' + e.status, e.status));
    p.appendChild(el('h3', '', e.objects.length === 1 ? '1 object' : e.objects.length + ' objects'));
    const ul = el('ul');
    for (const oi of e.objects.slice(0, 500)) {
      const o = M.objects[oi];
      const li = el('li');
      li.appendChild(button(o.name + (o.end ? ' ' + o.end : '') + (o.channel && o.channel !== o.name ? ' (' + o.channel + ')' : ''), () => showObject(oi)));
      ul.appendChild(li);
    }
    p.appendChild(ul);
    mark('selected', []);
    mark('related', [e.a, e.b]);
  }

  function showFinding(i) {
    const f = M.findings[i];
    const p = panel(f.rule + ' ' + f.title);
    p.appendChild(el('p', 'sev sev-' + f.severity, f.severity));
    p.appendChild(el('p', '', f.message));
    if (f.expected) p.appendChild(el('p', 'hint', 'expected: ' + f.expected));
    p.appendChild(el('h3', '', 'Holders'));
    const ul = el('ul');
    for (const line of f.lines) ul.appendChild(el('li', 'mono', line));
    p.appendChild(ul);
    const procs = el('p');
    for (const pid of new Set(f.pids)) procs.append(procButton(pid), document.createTextNode(' '));
    p.appendChild(procs);
    if (f.objects.length) {
      p.appendChild(el('h3', '', 'Objects'));
      const ol = el('ul');
      for (const oi of f.objects) {
        const li = el('li');
        li.appendChild(button(M.objects[oi].name, () => showObject(oi)));
        ol.appendChild(li);
      }
      p.appendChild(ol);
    }
    const xs = boxesOf(f.pids);
    mark('selected', []);
    mark('related', xs);
    focus(xs);
  }

  function showChange(i) {
    const c = M.changes[i];
    const p = panel(c.text);
    p.appendChild(el('p', 'st-' + c.status, c.kind + ' ' + c.status + (c.leak ? ' · LEAK' : '')));
    const ul = el('ul');
    for (const line of c.lines) ul.appendChild(el('li', 'mono', line));
    p.appendChild(ul);
    const procs = el('p');
    for (const pid of new Set(c.pids)) procs.append(procButton(pid), document.createTextNode(' '));
    p.appendChild(procs);
    const xs = boxesOf(c.pids);
    mark('selected', []);
    mark('related', xs);
    focus(xs);
  }

  // ---- wiring ----

  function rescan() {
    const b = $('rescan');
    b.disabled = true;
    b.textContent = 'Scanning…';
    fetch('api/rescan', { method: 'POST', credentials: 'same-origin' })
      .then((r) => r.ok ? r.json() : r.text().then((t) => { throw new Error(t); }))
      .then(show)
      .catch(fail)
      .finally(() => { b.disabled = false; b.textContent = 'Rescan'; });
  }

  let timer = 0;
  $('search').addEventListener('input', (ev) => {
    clearTimeout(timer);
    timer = setTimeout(() => search(ev.target.value), 150);
  });
  $('search').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      clearTimeout(timer);
      const hits = search(ev.target.value);
      if (hits && hits.length) showProc(hits[0].pid);
    } else if (ev.key === 'Escape') {
      ev.target.value = '';
      search('');
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && document.activeElement !== $('search')) { ev.preventDefault(); $('search').focus(); }
  });
  $('fit').addEventListener('click', () => { if (panZoom) { panZoom.resize(); panZoom.fit(); panZoom.center(); } });
  $('rescan').addEventListener('click', rescan);
  window.addEventListener('resize', () => { if (panZoom) panZoom.resize(); });
  start();
}());
