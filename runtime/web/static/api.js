// api.js: every call to the HTTP API, with the token. The page asks for
// the token once, keeps it in localStorage, and asks again only when the
// server refuses it (401). A server run without a token
// (--insecure-no-auth, or loopback without $LEAD_TOKEN) answers without
// one, and the page then never asks.

const KEY = 'lead.token';

let token = readToken();
let open = false; // the server answered without a token
let asking = null; // the pending prompt: every refused call waits for it
const listeners = new Set();

function readToken() {
  try {
    return localStorage.getItem(KEY) || '';
  } catch {
    return ''; // storage disabled: ask every visit
  }
}

// ApiError is an answer other than 2xx: the API's {"error": {"code",
// "message", "details"}}.
export class ApiError extends Error {
  constructor(status, body, text) {
    const e = (body && body.error) || {};
    super(e.message || text || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.details = e.details || [];
  }
}

// url builds an API URL relative to the page, leaving out empty params.
export function url(path, query = {}) {
  const u = new URL(path, document.baseURI);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  }
  return u;
}

async function send(u, method, body, tok) {
  const headers = {Accept: 'application/json'};
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(u, {
    method, headers, cache: 'no-store', credentials: 'omit',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// api calls the API and returns the decoded answer; an error answer
// throws an ApiError. A 401 opens the token prompt, and the call is made
// again with the token given.
export async function api(path, {method = 'GET', query, body} = {}) {
  const u = url(path, query);
  for (let tries = 0; ; tries++) {
    const sent = token;
    const resp = await send(u, method, body, sent);
    if (resp.status === 401 && tries < 5) {
      await askToken(sent ? 'refused' : 'needed', sent);
      continue;
    }
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!resp.ok) throw new ApiError(resp.status, data, text);
    return data;
  }
}

// authState: whether the server needs a token and whether one is kept.
export function authState() {
  return {open, kept: Boolean(token)};
}

// onAuthChange calls f whenever the token or the server's need of one
// changes.
export function onAuthChange(f) {
  listeners.add(f);
}

function changed() {
  for (const f of listeners) f(authState());
}

// start finds out whether the server needs a token: without a kept
// token, one call without it answers 200 (no token needed) or 401 (ask).
export async function start() {
  if (!token) {
    const resp = await send(url('v1/workflows'), 'GET', undefined, '');
    if (resp.ok) {
      open = true;
      changed();
      return;
    }
    if (resp.status === 401) await askToken('needed', '');
  }
  changed();
}

// forget drops the kept token and asks for one.
export function forget() {
  try {
    localStorage.removeItem(KEY);
  } catch { /* nothing kept */ }
  token = '';
  changed();
  return askToken('forgotten', '');
}

// askToken shows the token dialog until the server takes a token, and
// resolves then. Calls refused meanwhile share the one prompt. If the
// token changed since the refused call was sent, nothing is asked.
function askToken(why, refused) {
  if (asking) return asking;
  if (refused && token && refused !== token) return Promise.resolve();
  asking = new Promise((resolve) => {
    const dialog = document.getElementById('token-dialog');
    const form = document.getElementById('token-form');
    const input = document.getElementById('token-input');
    const error = document.getElementById('token-error');
    const messages = {
      needed: '',
      forgotten: 'The token is forgotten in this browser. Give it again to go on.',
      refused: 'The server refused the token this browser had kept (wrong token, or the server’s token changed). Give the right one.',
    };
    showError(error, input, messages[why]);
    input.value = '';
    const done = () => {
      form.removeEventListener('submit', submit);
      dialog.removeEventListener('cancel', cancel);
      dialog.close();
      asking = null;
      resolve();
    };
    const submit = async (ev) => {
      ev.preventDefault();
      const candidate = input.value.trim();
      if (!candidate) {
        showError(error, input, 'Enter the token.');
        input.focus();
        return;
      }
      // Not disabled while checking (a disabled button loses focus); a
      // second press meanwhile does nothing.
      const button = form.querySelector('button[type=submit]');
      if (button.getAttribute('aria-busy') === 'true') return;
      button.setAttribute('aria-busy', 'true');
      try {
        const resp = await send(url('v1/workflows'), 'GET', undefined, candidate);
        if (resp.status === 401) {
          showError(error, input, 'The server refused this token: it is not the one lead run was given. Check it and try again.');
          input.select();
          return;
        }
        token = candidate;
        try {
          localStorage.setItem(KEY, token);
        } catch { /* kept for this page only */ }
        changed();
        done();
      } catch (err) {
        showError(error, input, `The server did not answer: ${err.message}`);
      } finally {
        button.removeAttribute('aria-busy');
      }
    };
    // Nothing works without the token: Escape does not close the prompt.
    const cancel = (ev) => ev.preventDefault();
    form.addEventListener('submit', submit);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

function showError(el, input, msg) {
  el.textContent = msg;
  el.hidden = !msg;
  if (msg) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

// cached memoises calls whose answers do not change (a workflow version's
// graph is fixed by its hash).
const memo = new Map();
export function cached(path) {
  if (!memo.has(path)) {
    const p = api(path);
    p.catch(() => memo.delete(path));
    memo.set(path, p);
  }
  return memo.get(path);
}

// graph returns the compiled graph of a workflow version.
export function graph(workflow, version) {
  return cached(`v1/workflows/${encodeURIComponent(workflow)}/versions/${encodeURIComponent(version)}`);
}
