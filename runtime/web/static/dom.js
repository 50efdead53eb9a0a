// dom.js: building and updating the page without a framework, and the
// formats every view shares.

const SVGNS = 'http://www.w3.org/2000/svg';

// set applies attributes: on* are listeners, false/null/undefined are
// left out, true is an empty attribute. No style attributes: the
// Content-Security-Policy forbids them.
function set(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return el;
}

function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h makes an HTML element: h('p', {class: 'x'}, 'text', child).
export function h(tag, attrs, ...children) {
  return add(set(document.createElement(tag), attrs), children);
}

// s makes an SVG element.
export function s(tag, attrs, ...children) {
  return add(set(document.createElementNS(SVGNS, tag), attrs), children);
}

// setText changes a node's text only when it differs, so that an update
// that changes nothing touches nothing (no layout, no screen-reader
// chatter).
export function setText(el, text) {
  text = String(text);
  if (el.textContent !== text) el.textContent = text;
}

let uid = 0;
// id returns a new element id with a prefix.
export function id(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// table makes a table with a caption and column headers. columns are
// {label, num (right-aligned numbers), hidden (visually hidden label)}.
// A "stack" table becomes a list of cards on a narrow screen, each cell
// labelled with its column (the stylesheet shows data-label); its ARIA
// roles keep it a table for screen readers, which a change of CSS
// display would otherwise take away.
export function table(caption, columns, attrs = {}, {stack = false} = {}) {
  const tbody = h('tbody', stack ? {role: 'rowgroup'} : {});
  const el = h('table', {...attrs, class: stack ? 'stack' : null, role: stack ? 'table' : null},
    h('caption', {}, caption),
    h('thead', stack ? {role: 'rowgroup'} : {}, h('tr', stack ? {role: 'row'} : {}, columns.map((c) =>
      h('th', {scope: 'col', class: c.num ? 'num' : null, role: stack ? 'columnheader' : null, dataset: {label: c.hidden ? '' : c.label}},
        c.hidden ? h('span', {class: 'visually-hidden'}, c.label) : c.label)))),
    tbody);
  return {el, tbody, caption: el.caption};
}

// fillRows makes tbody's rows those of items, in order, reusing the row
// of an item already shown (rows are keyed by keyOf) and changing only
// the cells whose content changed. So a live update keeps focus, the
// scroll position and whatever a user selected, and a screen reader hears
// nothing about cells that did not change. cellsOf returns, per cell,
// text, or {text, cls, header, node, sig}: node is built content (a
// button), sig what it depends on (the node is rebuilt when sig
// changes). The first cell is the row header. empty is the text of the
// single row shown when there are no items.
export function fillRows(tbody, items, keyOf, cellsOf, empty) {
  const old = new Map();
  for (const tr of Array.from(tbody.rows)) old.set(tr.dataset.key, tr);
  const focused = document.activeElement;
  const list = items.length || !empty ? items : [null];
  const keyed = list.map((item) => [item === null ? '\u0000empty' : keyOf(item), item]);
  // Rows that go are removed first, so that the rows that stay are not
  // moved past them: moving a row takes focus from a button in it.
  const keep = new Set(keyed.map(([key]) => key));
  let lostFocus = false;
  for (const [key, tr] of old) {
    if (keep.has(key)) continue;
    if (tr.contains(focused)) lostFocus = true;
    tr.remove();
    old.delete(key);
  }
  let prev = null;
  for (const [key, item] of keyed) {
    let tr = old.get(key);
    if (!tr) tr = h('tr', {dataset: {key}});
    const head = tbody.parentElement.tHead.rows[0];
    const cells = item === null ? [{text: empty, colspan: head.cells.length, cls: 'empty'}] : cellsOf(item);
    updateCells(tr, cells, head);
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  return lostFocus;
}

function updateCells(tr, cells, head) {
  const stack = head.closest('table').classList.contains('stack');
  if (stack) tr.setAttribute('role', 'row');
  cells.forEach((spec, i) => {
    const c = typeof spec === 'object' && spec !== null ? spec : {text: spec};
    const tag = i === 0 && !c.colspan ? 'th' : 'td';
    let cell = tr.cells[i];
    if (!cell || cell.tagName.toLowerCase() !== tag) {
      const label = head.cells[i] && !c.colspan ? head.cells[i].dataset.label : '';
      const fresh = h(tag, {
        scope: tag === 'th' ? 'row' : null,
        role: stack ? (tag === 'th' ? 'rowheader' : 'cell') : null,
        dataset: label ? {label} : {},
      });
      if (cell) cell.replaceWith(fresh); else tr.append(fresh);
      cell = fresh;
    }
    const cls = [c.cls, c.num ? 'num' : null].filter(Boolean).join(' ');
    if ((cell.getAttribute('class') || '') !== cls) {
      if (cls) cell.setAttribute('class', cls); else cell.removeAttribute('class');
    }
    if (c.colspan) cell.colSpan = c.colspan;
    if (c.node) {
      const sig = c.sig ?? '';
      if (cell.dataset.sig !== sig || !cell.firstChild) {
        cell.replaceChildren(c.node);
        cell.dataset.sig = sig;
      }
    } else {
      delete cell.dataset.sig;
      if (cell.children.length) cell.replaceChildren();
      setText(cell, c.text ?? '');
    }
  });
  while (tr.cells.length > cells.length) tr.deleteCell(-1);
}

// wrap lets a wide table scroll sideways inside the page rather than
// widen it; the region is focusable so that a keyboard can scroll it.
export function wrap(tableEl) {
  const cap = tableEl.caption ? tableEl.caption.textContent : 'Table';
  return h('div', {class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': cap}, tableEl);
}

// section makes a <section> with a heading (focusable, so that focus
// can land there when what had it goes away) and a body.
export function section(title, attrs = {}) {
  const hid = id('h');
  const heading = h('h2', {id: hid, tabindex: '-1'}, title);
  const body = h('div', {class: 'section-body'});
  const el = h('section', {'aria-labelledby': hid, ...attrs}, heading, body);
  return {el, heading, body};
}

// problem renders an error for a region of the page.
export function problem(err) {
  return h('p', {class: 'problem', role: 'alert'}, describe(err));
}

// describe turns an API error (or any error) into a sentence.
export function describe(err) {
  if (err && err.status) {
    let msg = `${err.message} (HTTP ${err.status})`;
    if (err.details && err.details.length) msg += ': ' + err.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return msg;
  }
  return err && err.message ? err.message : String(err);
}

// ready marks, once per page load, when a view's data is first on the
// page (the Performance API's user timing, as the first-paint benchmark
// and a browser's developer tools read it).
export function ready(name) {
  if (!performance.getEntriesByName(name).length) performance.mark(name);
}

// ---------------------------------------------------------------------------
// Formats

const intFmt = new Intl.NumberFormat(undefined, {maximumFractionDigits: 0});
const pctFmt = new Intl.NumberFormat(undefined, {style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1});
const timeFmt = new Intl.DateTimeFormat(undefined, {hour: '2-digit', minute: '2-digit', second: '2-digit'});
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});

export const fmt = {
  int: (n) => intFmt.format(n ?? 0),
  // pct: a ratio (0.455) as a percentage; "—" when there is none.
  pct: (r) => (r === null || r === undefined || Number.isNaN(r) ? '—' : pctFmt.format(r)),
  time: (d) => timeFmt.format(d),
  when: (iso) => dateTimeFmt.format(new Date(iso)),
  // human writes a duration in seconds as people read it: 45s, 12m,
  // 3h5m, 2d4h (as the reports write p50 and p90).
  human(seconds) {
    const sec = Math.round(Math.abs(seconds));
    if (sec < 60) return `${sec}s`;
    if (sec < 3600) return `${Math.floor(sec / 60)}m`;
    if (sec < 86400) {
      const hh = Math.floor(sec / 3600); const mm = Math.floor((sec % 3600) / 60);
      return mm ? `${hh}h${mm}m` : `${hh}h`;
    }
    const dd = Math.floor(sec / 86400); const hh = Math.floor((sec % 86400) / 3600);
    return hh ? `${dd}d${hh}h` : `${dd}d`;
  },
};

// ratio is n/of, or null when of is 0.
export function ratio(n, of) {
  return of ? n / of : null;
}
