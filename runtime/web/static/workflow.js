// workflow.js: the workflow view. The active version's compiled graph,
// drawn, with how many leads are in each stage now, updated in place
// every few seconds; the same in two tables (stages, transitions) for
// those who do not read the drawing. Counts: the aging report for the
// stages that are not terminal (every version's leads, by stage name),
// GET /v1/leads?stage=...&limit=1's total for the terminal ones, and the
// aging report's list of stuck leads.

import {api, graph} from './api.js';
import {h, s, table, fillRows, section, problem, fmt, setText, wrap, ready} from './dom.js';
import {Filters} from './filters.js';
import {edges, layout, draw, kinds, duration} from './graph.js';

export async function mount(el, params, ctx) {
  const v = new WorkflowView(el, ctx);
  await v.update(params);
  return v;
}

class WorkflowView {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.el = el;
    this.filters = new Filters(ctx, ['workflow'], {allWorkflows: false}, (v) => ctx.go('workflow', {workflow: v.workflow}));
    this.status = h('div', {class: 'view-status'});
    this.about = h('p', {class: 'definition', id: 'workflow-about'});
    this.graphSection = section('Graph', {id: 'graph'});
    this.figure = h('div', {class: 'graph-box', tabindex: '0', role: 'region', 'aria-label': 'The workflow graph (scrolls sideways on a narrow screen)'});
    // The legend draws each kind of line as the graph does, with words.
    this.legend = h('ul', {class: 'legend', 'aria-label': 'What the lines mean'}, Object.entries(kinds).map(([k, text]) =>
      h('li', {}, s('svg', {width: 36, height: 10, 'aria-hidden': 'true', class: 'swatch'},
        s('line', {x1: 1, y1: 5, x2: 35, y2: 5, class: `edge edge-${k}`})), text)));
    this.graphSection.body.append(
      h('p', {class: 'definition'}, 'Each box is a stage, with how many leads are in it now (and how many of them are stuck); each line a way a lead can move, styled by what moves it. Terminal stages have a double border.'),
      this.figure, this.legend);
    this.stagesSection = section('Stages', {id: 'stages'});
    this.stageTable = table('Stages, with the leads in each now', [
      {label: 'Stage'}, {label: 'Lifecycle'}, {label: 'Leads now', num: true}, {label: 'Stuck', num: true}, {label: 'SLAs'}, {label: 'Responsible'},
    ], {id: 'stage-table'});
    this.stagesSection.body.append(wrap(this.stageTable.el));
    this.movesSection = section('Transitions', {id: 'transitions'});
    this.moveTable = table('Every way a lead can move', [
      {label: 'From'}, {label: 'To'}, {label: 'Kind'}, {label: 'When'},
    ], {id: 'transition-table'});
    this.movesSection.body.append(wrap(this.moveTable.el));
    el.append(this.filters.el, this.status, this.about, this.graphSection.el, this.stagesSection.el, this.movesSection.el);
    this.counts = new Map();
    this.last = null;
  }

  async update(params) {
    const name = params.workflow || (this.ctx.workflows[0] && this.ctx.workflows[0].name);
    if (!name) {
      this.status.replaceChildren(h('p', {class: 'problem'}, 'This server serves no workflow yet.'));
      return;
    }
    this.name = name;
    this.filters.set({workflow: name});
    this.ctx.title(`Workflow: ${name}`);
    this.version = null;
    this.last = null;
    await this.refresh();
  }

  async refresh() {
    let infos;
    let aging;
    try {
      [infos, aging] = await Promise.all([
        api('v1/workflows'),
        api('v1/reports/aging', {query: {workflow: this.name}}),
      ]);
      const info = infos.workflows.find((w) => w.name === this.name);
      if (!info || !info.active_version) throw new Error(`No active version of workflow ${this.name}.`);
      if (info.active_version !== this.version) await this.load(info);
      this.info = info;
      const terminal = this.g.stages.filter((st) => st.terminal);
      const totals = await Promise.all(terminal.map((st) =>
        api('v1/leads', {query: {workflow: this.name, stage: st.name, limit: 1}})));
      const counts = new Map(this.g.stages.map((st) => [st.name, {leads: 0, stuck: 0}]));
      const at = (n) => counts.get(n) || counts.set(n, {leads: 0, stuck: 0}).get(n);
      for (const r of aging.rows) if (r.group === 'all') at(r.stage).leads += r.leads;
      for (const x of aging.stuck || []) at(x.stage).stuck += 1;
      terminal.forEach((st, i) => {
        at(st.name).leads = totals[i].total ?? totals[i].leads.length;
      });
      this.show(counts, info);
      ready('lead:counts');
      this.status.replaceChildren();
    } catch (err) {
      this.status.replaceChildren(problem(err));
      throw err;
    }
  }

  // load draws a version's graph and lists its stages and transitions.
  async load(info) {
    this.g = await graph(this.name, info.active_version);
    this.version = info.active_version;
    this.es = edges(this.g);
    const lay = layout(this.g, this.es);
    const drawn = draw(this.g, this.es, lay, {
      title: `The stages and transitions of ${this.name}, version ${this.version}`,
      desc: `${this.g.stages.length} stages and ${this.es.length} transitions, starting at ${this.g.start}; the tables below list them with the leads in each stage.`,
    });
    drawn.svg.dataset.workflow = this.name;
    drawn.svg.dataset.version = this.version;
    this.figure.replaceChildren(drawn.svg);
    this.counts = drawn.counts;
    const stageInfo = (st) => [
      st.name,
      st.lifecycle || '—',
      {text: '…', num: true},
      {text: '…', num: true},
      (st.slas || []).map((x) => `${x.name} within ${duration(x.within, x.calendar)}`).join('; ') || '—',
      responsible(st.owner),
    ];
    this.stageRows = stageInfo;
    fillRows(this.stageTable.tbody, this.g.stages, (st) => st.name, stageInfo);
    fillRows(this.moveTable.tbody, this.es, (e) => `${e.id}\u0000${e.to}`, (e) => [
      e.from || '(any stage)', e.to, kinds[e.kind] || e.kind, e.label,
    ], 'This workflow has no transitions.');
  }

  // show changes the counts in place and says, politely, what changed.
  show(counts, info) {
    const versions = Object.entries(info.versions || {});
    setText(this.about, `${this.g.title || this.name}. Active version ${info.active_version}` +
      (versions.length ? `; leads in flight by version: ${versions.map(([v, n]) => `${v} ${fmt.int(n)}`).join(', ')}` : '') + '.');
    const changes = [];
    for (const [name, c] of counts) {
      const shown = this.counts.get(name);
      const text = c.stuck ? `${fmt.int(c.leads)} now · ${fmt.int(c.stuck)} stuck` : `${fmt.int(c.leads)} now`;
      if (shown) {
        setText(shown.text, text);
        shown.node.classList.toggle('has-stuck', c.stuck > 0);
        shown.node.classList.toggle('empty', c.leads === 0);
      }
      if (this.last && this.last.get(name) && this.last.get(name).leads !== c.leads) {
        changes.push(`${name} ${fmt.int(this.last.get(name).leads)} → ${fmt.int(c.leads)}`);
      }
    }
    fillRows(this.stageTable.tbody, this.g.stages, (st) => st.name, (st) => {
      const row = this.stageRows(st);
      const c = counts.get(st.name);
      row[2] = {text: fmt.int(c.leads), num: true};
      row[3] = {text: fmt.int(c.stuck), num: true, cls: c.stuck ? 'late' : ''};
      return row;
    });
    if (changes.length) {
      this.ctx.announce(`Leads per stage changed: ${changes.slice(0, 4).join(', ')}${changes.length > 4 ? `, and ${changes.length - 4} more` : ''}.`);
    }
    this.last = counts;
  }

  stop() {}
}

function responsible(owner) {
  const r = owner && owner.responsible;
  if (!r) return owner && owner.accountable ? `${owner.accountable} (accountable)` : '—';
  return `${r.kind} ${r.name || (r.user && r.user.src) || ''}`.trim();
}
