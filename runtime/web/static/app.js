// app.js: the dashboards' shell. It finds out whether the server needs a
// token (api.js asks for it), routes the URL's hash to a view
// (#/executive, #/practitioner, #/workflow/NAME, each with its filters
// as query parameters), and refreshes the view every few seconds while
// the page is visible.

import {api, start, forget, onAuthChange} from './api.js';
import {problem, setText, fmt, describe} from './dom.js';

const POLL_MS = 5000;

const views = {
  executive: {title: 'Executive', load: () => import('./executive.js')},
  practitioner: {title: 'Practitioner', load: () => import('./practitioner.js')},
  workflow: {title: 'Workflow', load: () => import('./workflow.js')},
};

const $ = (id) => document.getElementById(id);

// parse reads a hash: #/NAME[/WORKFLOW][?key=value&...].
export function parse(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const name = views[parts[0]] ? parts[0] : 'executive';
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
  if (name === 'workflow' && parts[1]) params.workflow = parts[1];
  return {name, params};
}

// href writes a view's hash; empty parameters are left out.
export function href(name, params) {
  const p = {...params};
  let path = `#/${name}`;
  if (name === 'workflow' && p.workflow) {
    path += `/${encodeURIComponent(p.workflow)}`;
    delete p.workflow;
  }
  const q = new URLSearchParams(Object.entries(p).filter(([, v]) => v)).toString();
  return q ? `${path}?${q}` : path;
}

let current = null; // {name, view}
let queue = Promise.resolve();
let routed = 0;
let refreshing = false;

const ctx = {
  workflows: [],
  go(name, params) {
    const next = href(name, params);
    if (next !== location.hash) location.hash = next;
  },
  title(text) {
    setText($('title'), text);
    document.title = `${text} · Lead`;
  },
  // announce says something to screen readers, politely.
  announce(msg) {
    const el = $('announcer');
    el.textContent = '';
    requestAnimationFrame(() => {
      el.textContent = msg;
    });
  },
};

async function loadWorkflows() {
  const r = await api('v1/workflows');
  ctx.workflows = r.workflows.filter((w) => w.active_version);
}

async function route() {
  const {name, params} = parse(location.hash);
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    const v = a.dataset.view;
    if (v === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    // Links to the other views keep the workflow chosen.
    a.setAttribute('href', href(v, params.workflow ? {workflow: params.workflow} : {}));
  }
  const box = $('view');
  try {
    if (current && current.name === name) {
      await current.view.update(params);
    } else {
      if (current) current.view.stop();
      current = null;
      // A workflow saved since the last view is offered in the next one.
      const [mod] = await Promise.all([views[name].load(), routed > 0 ? loadWorkflows() : null]);
      box.replaceChildren();
      ctx.title(views[name].title);
      current = {name, view: await mod.mount(box, params, ctx)};
      // Moving to another view moves focus to its heading, as a page load
      // would; the first view of a visit leaves focus where it is.
      if (routed > 0) $('title').focus();
    }
    routed += 1;
    setText($('updated'), `Updated ${fmt.time(new Date())}`);
  } catch (err) {
    if (!current) box.replaceChildren(problem(err));
    setText($('updated'), `Not updated: ${describe(err)}`);
  }
}

// tick refreshes the view in place; a refresh still running, a hidden
// page or an open dialog (someone is typing) skips it. A refresh that
// took the server long (a sorted list of many leads reads each of them)
// spaces the next ones out to ten times its length, so that an open
// dashboard never keeps a busy server busier than a tenth of the time.
let nextTick = 0;
async function tick() {
  if (!current || refreshing || document.hidden || document.querySelector('dialog[open]')) return;
  if (performance.now() < nextTick) return;
  refreshing = true;
  const started = performance.now();
  try {
    await current.view.refresh();
    setText($('updated'), `Updated ${fmt.time(new Date())}`);
  } catch (err) {
    setText($('updated'), `Not updated: ${describe(err)}`);
  } finally {
    refreshing = false;
    // Less a second: the interval timer fires every POLL_MS, give or take.
    nextTick = started + Math.max(POLL_MS, 10 * (performance.now() - started)) - 1000;
  }
}

function later(f) {
  queue = queue.then(f, f);
  return queue;
}

async function boot() {
  const forgetButton = $('forget-token');
  onAuthChange(({open, kept}) => {
    forgetButton.hidden = open || !kept;
  });
  forgetButton.addEventListener('click', () => {
    forget().then(() => later(route));
  });
  try {
    await start();
    await loadWorkflows();
  } catch (err) {
    $('view').replaceChildren(problem(err));
    setText($('updated'), 'Not connected');
    return;
  }
  window.addEventListener('hashchange', () => later(route));
  await later(route);
  setInterval(() => later(tick), POLL_MS);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) later(tick);
  });
}

boot();
