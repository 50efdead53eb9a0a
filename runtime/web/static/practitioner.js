// practitioner.js: the practitioner view. For one owner (or everyone):
// the SLAs at risk, nearest deadline first; the stuck leads with the
// reason; and their leads, longest in their stage first. Every row opens
// the lead dialog (actions.js) to override its stage or reassign it.
// Lists come from GET /v1/leads (sort=deadline, stuck=true, sort=age).

import {api} from './api.js';
import {h, table, fillRows, section, problem, fmt, setText, wrap, ready} from './dom.js';
import {Filters} from './filters.js';
import {openLead} from './actions.js';

const PAGE = 25;

export async function mount(el, params, ctx) {
  const v = new Practitioner(el, ctx);
  await v.update(params);
  return v;
}

class Practitioner {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.leads = new Map(); // id -> the latest view of the lead shown
    this.owners = [];
    this.limit = PAGE;
    this.filters = new Filters(ctx, ['workflow', 'owner', 'sla'], {allWorkflows: true}, (v) => {
      ctx.go('practitioner', {workflow: v.workflow, owner: v.owner, sla: v.sla});
    });
    this.status = h('div', {class: 'view-status'});

    this.risk = section('SLAs at risk', {id: 'at-risk'});
    this.riskNote = h('p', {class: 'definition'});
    this.riskTable = table('Leads whose SLA is at risk', [
      {label: 'Lead'}, {label: 'SLA'}, {label: 'State'}, {label: 'Deadline'}, {label: 'Time left', num: true},
      {label: 'Stage'}, {label: 'Owner'}, {label: 'Actions', hidden: true},
    ], {id: 'at-risk-table'}, {stack: true});
    this.risk.body.append(this.riskNote, wrap(this.riskTable.el));

    this.stuck = section('Stuck leads', {id: 'stuck'});
    this.stuckNote = h('p', {class: 'definition'}, 'A lead is stuck when an exception had no handler (an expression that failed, no owner to route to, too many moves). It stays in its stage, with its SLAs running, until someone moves it by hand: an override clears the mark.');
    this.stuckTable = table('Stuck leads, longest in their stage first', [
      {label: 'Lead'}, {label: 'Stage'}, {label: 'Why it is stuck'}, {label: 'Stuck since'}, {label: 'Owner'}, {label: 'Actions', hidden: true},
    ], {id: 'stuck-table'}, {stack: true});
    this.stuck.body.append(this.stuckNote, wrap(this.stuckTable.el));

    this.mine = section('Leads', {id: 'leads'});
    this.mineTable = table('Leads, longest in their stage first', [
      {label: 'Lead'}, {label: 'Workflow'}, {label: 'Stage'}, {label: 'Lifecycle'}, {label: 'In stage for', num: true},
      {label: 'Next SLA'}, {label: 'Owner'}, {label: 'Actions', hidden: true},
    ], {id: 'leads-table'}, {stack: true});
    this.more = h('button', {type: 'button', class: 'secondary', hidden: true, onclick: () => this.showMore()}, 'Show more leads');
    this.mineCount = h('p', {class: 'count', 'aria-live': 'polite'});
    this.mine.body.append(wrap(this.mineTable.el), h('div', {class: 'more-row'}, this.mineCount, this.more));

    el.append(this.filters.el, this.status, this.risk.el, this.stuck.el, this.mine.el);
  }

  async update(params) {
    this.params = params;
    this.limit = PAGE;
    this.filters.set({workflow: params.workflow || '', owner: params.owner || '', sla: params.sla || ''});
    this.ctx.title(`Practitioner: ${params.owner || 'everyone'}`);
    setText(this.mine.heading, params.owner ? `Leads of ${params.owner}` : 'All leads');
    // The owners to choose from: the owners report (team members and
    // everyone with activity in the last 30 days).
    const owners = api('v1/reports/owners', {query: {workflow: params.workflow}}).then((r) => {
      this.owners = r.rows.map((x) => x.owner);
      this.filters.options('owner', [{value: '', label: 'Everyone'},
        ...r.rows.map((x) => ({value: x.owner, label: `${x.owner}${x.team ? ` (${x.team})` : ''}, ${x.open} open`}))]);
      this.filters.set({owner: params.owner || ''});
    });
    await Promise.all([owners, this.refresh()]);
  }

  showMore() {
    this.limit = Math.min(1000, this.limit + PAGE);
    this.refresh().catch(() => {});
  }

  async refresh() {
    const p = this.params;
    const base = {workflow: p.workflow, owner: p.owner};
    let risk; let stuck; let mine;
    try {
      [risk, stuck, mine] = await Promise.all([
        // A breached SLA is no longer open, so it has no place in the
        // deadline order: breached ones come longest in their stage first.
        api('v1/leads', {query: {...base, sort: p.sla === 'breached' ? 'age' : 'deadline', sla: p.sla, limit: PAGE}}),
        api('v1/leads', {query: {...base, stuck: 'true', sort: 'age', limit: 100}}),
        api('v1/leads', {query: {...base, sort: 'age', limit: this.limit}}),
      ]);
    } catch (err) {
      this.status.replaceChildren(problem(err));
      throw err;
    }
    this.status.replaceChildren();
    this.leads = new Map([...risk.leads, ...stuck.leads, ...mine.leads].map((l) => [l.id, l]));
    const now = Date.now();
    const focusLost = [
      this.renderRisk(risk, now),
      this.renderStuck(stuck, now),
      this.renderMine(mine, now),
    ];
    ready('lead:lists');
    // A row that had focus went away (the lead left the list): focus its
    // section's heading rather than leaving it nowhere.
    const heads = [this.risk.heading, this.stuck.heading, this.mine.heading];
    focusLost.forEach((lost, i) => {
      if (lost && !document.querySelector('dialog[open]')) heads[i].focus();
    });
  }

  act(id) {
    return {
      node: h('button', {type: 'button', class: 'act', 'aria-haspopup': 'dialog', onclick: () => this.open(id)},
        'Act', h('span', {class: 'visually-hidden'}, ` on lead ${id}`)),
      sig: id,
    };
  }

  // open shows the lead dialog. Closing it gives focus back to the
  // button that opened it; after a change, the refresh moves focus to the
  // list's heading if the lead left the list (and took its button along).
  open(id) {
    const lead = this.leads.get(id);
    if (!lead) return;
    openLead(lead, this.owners, this.ctx, () => this.refresh().catch(() => {}));
  }

  renderRisk(r, now) {
    const total = r.total ?? r.leads.length;
    setText(this.risk.heading, `SLAs at risk (${fmt.int(total)})`);
    setText(this.riskNote, p(this.params.sla));
    return fillRows(this.riskTable.tbody, r.leads, (l) => l.id, (l) => {
      const sla = nearest(l, this.params.sla);
      const left = sla ? (Date.parse(sla.deadline) - now) / 1000 : 0;
      return [
        l.id,
        sla ? sla.name : '—',
        {text: sla ? stateText(sla.state) : '—', cls: sla ? `state state-${sla.state}` : ''},
        sla ? fmt.when(sla.deadline) : '—',
        {text: sla ? (left >= 0 ? `${fmt.human(left)} left` : `${fmt.human(-left)} overdue`) : '—', num: true, cls: left < 0 ? 'late' : ''},
        l.stage,
        l.owner || 'nobody',
        this.act(l.id),
      ];
    }, 'No open SLA: nothing is at risk.');
  }

  renderStuck(r, now) {
    const total = r.total ?? r.leads.length;
    setText(this.stuck.heading, `Stuck leads (${fmt.int(total)})`);
    return fillRows(this.stuckTable.tbody, r.leads, (l) => l.id, (l) => [
      l.id,
      l.stage,
      {text: l.stuck ? `${l.stuck.kind}: ${l.stuck.reason}` : '', cls: 'wrap'},
      l.stuck ? `${fmt.when(l.stuck.at)} (${fmt.human((now - Date.parse(l.stuck.at)) / 1000)} ago)` : '',
      l.owner || 'nobody',
      this.act(l.id),
    ], 'No stuck lead.');
  }

  renderMine(r, now) {
    const total = r.total ?? r.leads.length;
    setText(this.mineCount, `Showing ${fmt.int(r.leads.length)} of ${fmt.int(total)} leads.`);
    this.more.hidden = r.leads.length >= total || this.limit >= 1000;
    return fillRows(this.mineTable.tbody, r.leads, (l) => l.id, (l) => {
      const sla = nearest(l, '');
      return [
        l.id,
        l.workflow,
        l.stage,
        l.lifecycle || '—',
        {text: fmt.human((now - Date.parse(l.entered_at)) / 1000), num: true},
        sla ? `${sla.name}: ${stateText(sla.state)}, due ${fmt.when(sla.deadline)}` : '—',
        l.owner || 'nobody',
        this.act(l.id),
      ];
    }, this.params.owner ? `${this.params.owner} has no leads here.` : 'No leads.');
  }

  stop() {}
}

function p(state) {
  switch (state) {
    case 'warned': return 'Leads whose SLA in their current stage has passed its warning, nearest deadline first.';
    case 'running': return 'Leads with an SLA running in their current stage (not yet warned), nearest deadline first.';
    case 'breached': return 'Leads with a breached SLA in their current stage (its breach actions have run), longest in their stage first.';
    default: return 'Leads with an open SLA (running or warned) in their current stage, nearest deadline first. A breached SLA is no longer open: its breach actions have run.';
  }
}

// nearest is the lead's open SLA with the nearest deadline (in the state
// asked, if any).
function nearest(l, state) {
  const open = l.slas.filter((x) => (state ? x.state === state : x.state === 'running' || x.state === 'warned'));
  open.sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline));
  return open[0] || null;
}

// stateText is an SLA state as shown; the stylesheet puts a sign before
// it (hidden from screen readers), so that colour is not the only thing
// that tells the states apart.
function stateText(state) {
  return state;
}
