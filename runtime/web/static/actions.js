// actions.js: the lead dialog, with the two things a practitioner does to
// a lead by hand: override its stage and reassign it. Both ask for a
// reason, which the history keeps; the API's refusals are shown next to
// the form that caused them, naming the fields.

import {api, graph} from './api.js';
import {h, fmt, describe} from './dom.js';

const ACTOR = 'lead.actor';

let current = null; // {lead, done, ctx}
let wired = false;

const $ = (id) => document.getElementById(id);

// openLead shows the dialog for lead. owners are other owners to offer
// (from the owners report); done(message) runs after a change.
export async function openLead(lead, owners, ctx, done) {
  wire();
  current = {lead, done, ctx};
  const dialog = $('lead-dialog');
  $('lead-title').textContent = `Lead ${lead.id}`;
  const facts = [
    ['Workflow', `${lead.workflow} (version ${lead.version})`],
    ['Stage', lead.lifecycle ? `${lead.stage} (${lead.lifecycle})` : lead.stage],
    ['Owner', lead.owner || 'nobody'],
    ['In this stage since', `${fmt.when(lead.entered_at)} (${fmt.human((Date.now() - Date.parse(lead.entered_at)) / 1000)})`],
    ['Stuck', lead.stuck ? `${lead.stuck.kind}: ${lead.stuck.reason}` : 'no'],
    ['SLAs', lead.slas.length ? lead.slas.map((x) => `${x.name} ${x.state}, due ${fmt.when(x.deadline)}`).join('; ') : 'none in this stage'],
  ];
  $('lead-facts').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  for (const f of ['override', 'assign']) {
    clearError(f);
    $(`${f}-reason`).value = '';
    $(`${f}-actor`).value = remembered();
  }
  const stage = $('override-stage');
  const owner = $('assign-owner');
  stage.replaceChildren(h('option', {value: ''}, 'Loading the stages…'));
  owner.replaceChildren(h('option', {value: ''}, 'Loading the owners…'));
  if (!dialog.open) dialog.showModal();
  try {
    const g = await graph(lead.workflow, lead.version);
    if (!current || current.lead !== lead) return; // closed, or another lead's
    stage.replaceChildren(h('option', {value: ''}, 'Choose a stage'),
      ...g.stages.map((st) => h('option', {value: st.name},
        st.name + (st.lifecycle ? ` (${st.lifecycle})` : '') + (st.terminal ? ', terminal' : '') + (st.name === lead.stage ? ', current' : ''))));
    // Each owner once: team members (under their first team), the other
    // owners the owners report knows, then roles (a role owns a lead as a
    // queue).
    const seen = new Set();
    const once = (value, label) => (value && !seen.has(value) && seen.add(value) ? [{value, label}] : []);
    const people = (g.teams || []).flatMap((t) => (t.members || []).flatMap((m) => once(m.email, `${m.email} (${t.name})`)));
    const roleNames = new Set((g.roles || []).map((r) => r.name));
    const others = owners.filter((o) => !roleNames.has(o)).flatMap((o) => once(o, o));
    const roles = (g.roles || []).flatMap((r) => once(r.name, `${r.name} (role)`));
    const opt = (o) => h('option', {value: o.value, disabled: o.value === lead.owner},
      o.value === lead.owner ? `${o.label}, current owner` : o.label);
    owner.replaceChildren(h('option', {value: ''}, 'Choose an owner'),
      ...[['Team members', people], ['Other owners', others], ['Roles and queues', roles]]
        .filter(([, list]) => list.length)
        .map(([label, list]) => h('optgroup', {label}, list.map(opt))));
  } catch (err) {
    showError('override', err);
  }
}

// The actor's name is remembered in this browser for the next form.
function remembered() {
  try {
    return localStorage.getItem(ACTOR) || '';
  } catch {
    return '';
  }
}

function remember(actor) {
  try {
    localStorage.setItem(ACTOR, actor);
  } catch { /* not kept */ }
}

function wire() {
  if (wired) return;
  wired = true;
  const dialog = $('lead-dialog');
  $('lead-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    current = null;
  });
  $('override-form').addEventListener('submit', (ev) => submit(ev, 'override'));
  $('assign-form').addEventListener('submit', (ev) => submit(ev, 'assign'));
}

async function submit(ev, kind) {
  ev.preventDefault();
  if (!current) return;
  const {lead, done, ctx} = current;
  clearError(kind);
  const target = kind === 'override' ? $('override-stage') : $('assign-owner');
  const reason = $(`${kind}-reason`);
  const actor = $(`${kind}-actor`).value.trim();
  const missing = [];
  if (!target.value) missing.push({field: target.name, message: kind === 'override' ? 'choose the stage to move the lead to' : 'choose the new owner'});
  if (!reason.value.trim()) missing.push({field: 'reason', message: 'say why: the reason is kept in the lead’s history'});
  if (missing.length) {
    showError(kind, {local: true, details: missing});
    return;
  }
  // Not disabled while sending: a disabled button loses focus. A second
  // press meanwhile does nothing.
  const button = ev.target.querySelector('button[type=submit]');
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  try {
    const body = kind === 'override'
      ? {stage: target.value, reason: reason.value.trim(), actor}
      : {owner: target.value, reason: reason.value.trim(), actor};
    const after = await api(`v1/leads/${encodeURIComponent(lead.id)}/${kind}`, {method: 'POST', body});
    if (actor) remember(actor);
    const msg = kind === 'override'
      ? `Lead ${lead.id} moved from ${lead.stage} to ${after.stage}.`
      : `Lead ${lead.id} is now owned by ${after.owner}.`;
    $('lead-dialog').close();
    ctx.announce(msg);
    done(msg);
  } catch (err) {
    showError(kind, err);
  } finally {
    button.removeAttribute('aria-busy');
  }
}

// showError puts an error next to a form: the message and every field's
// problem, with the fields marked invalid; focus goes to the first.
function showError(kind, err) {
  const box = $(`${kind}-error`);
  const details = err.details || [];
  let intro = describe(err);
  if (err.local) intro = 'Nothing was sent: the form is not complete.';
  else if (err.status) intro = `The server refused: ${err.message}`;
  box.replaceChildren(h('p', {}, intro));
  if (details.length) box.append(h('ul', {}, details.map((d) => h('li', {}, `${labelOf(kind, d.field)}: ${d.message}`))));
  box.hidden = false;
  let first = null;
  for (const d of details) {
    const el = fieldEl(kind, d.field);
    if (el) {
      el.setAttribute('aria-invalid', 'true');
      first = first || el;
    }
  }
  if (first) first.focus();
}

function clearError(kind) {
  const box = $(`${kind}-error`);
  box.replaceChildren();
  box.hidden = true;
  for (const el of $(`${kind}-form`).querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

function fieldEl(kind, field) {
  const name = {stage: 'stage', owner: 'owner', reason: 'reason', actor: 'actor'}[field];
  return name ? $(`${kind}-form`).elements.namedItem(name) : null;
}

function labelOf(kind, field) {
  const el = fieldEl(kind, field);
  const lab = el && document.querySelector(`label[for="${el.id}"]`);
  return lab ? lab.textContent.replace(/ \((required|optional)\)$/, '') : field;
}
