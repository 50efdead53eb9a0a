// executive.js: the executive view. The funnel by lifecycle with
// conversion rates, velocity (time from capture to each lifecycle label),
// SLA attainment with its trend and per SLA, and a breakdown by a field
// of the lead, for a window of days. Every number comes from the reports
// (GET /v1/reports/...); docs/dashboards.md says how each is defined.

import {api} from './api.js';
import {h, table, fillRows, section, problem, fmt, ratio, setText, wrap, ready} from './dom.js';
import {responsive, hbars, line} from './charts.js';
import {Filters, dimensions} from './filters.js';

export async function mount(el, params, ctx) {
  const v = new Executive(el, ctx);
  await v.update(params);
  return v;
}

const label = (l) => (l === 'captured' ? 'Captured' : l);

class Executive {
  constructor(el, ctx) {
    this.ctx = ctx;
    this.el = el;
    this.seen = {};
    this.filters = new Filters(ctx, ['workflow', 'from', 'to', 'by', 'interval'], {allWorkflows: true}, (v) => {
      ctx.go('executive', {workflow: v.workflow, from: v.from, to: v.to, by: v.by, interval: v.interval});
    });
    this.status = h('div', {class: 'view-status'});
    this.cards = h('ul', {class: 'cards', 'aria-label': 'At a glance'});

    this.funnel = section('Funnel by lifecycle', {id: 'funnel'});
    this.funnelDef = h('p', {class: 'definition'});
    this.funnelChart = h('div', {class: 'chart-box'});
    this.funnelTable = table('Leads captured in the window that reached each lifecycle label', [
      {label: 'Lifecycle label'}, {label: 'Leads', num: true}, {label: 'From previous step', num: true}, {label: 'From captured', num: true},
    ], {id: 'funnel-table'});
    this.funnel.body.append(this.funnelDef, this.funnelChart, wrap(this.funnelTable.el));

    this.velocity = section('Velocity', {id: 'velocity'});
    this.velocityDef = h('p', {class: 'definition'});
    this.velocityChart = h('div', {class: 'chart-box'});
    this.velocityTable = table('Time from capture to first reaching each lifecycle label', [
      {label: 'Lifecycle label'}, {label: 'Leads', num: true}, {label: 'Median (p50)', num: true}, {label: '90th percentile (p90)', num: true},
    ], {id: 'velocity-table'});
    this.stageTable = table('Time spent in each stage, for stays that ended in the window', [
      {label: 'Stage'}, {label: 'Stays', num: true}, {label: 'Median (p50)', num: true}, {label: '90th percentile (p90)', num: true},
    ], {id: 'stage-time-table'});
    this.velocity.body.append(this.velocityDef, this.velocityChart, wrap(this.velocityTable.el),
      h('details', {class: 'more'}, h('summary', {}, 'Time in each stage'), wrap(this.stageTable.el)));

    this.sla = section('SLA attainment', {id: 'sla'});
    this.slaDef = h('p', {class: 'definition'});
    this.trendChart = h('div', {class: 'chart-box'});
    this.trendTable = table('SLA attainment per period: met / (met + breached), every SLA together', [
      {label: 'Period'}, {label: 'Met', num: true}, {label: 'Warned', num: true}, {label: 'Breached', num: true}, {label: 'Attainment', num: true},
    ], {id: 'sla-trend-table'});
    this.perSLA = table('SLA outcomes in the window, per SLA', [
      {label: 'SLA'}, {label: 'Stage'}, {label: 'Met', num: true}, {label: 'Warned', num: true}, {label: 'Breached', num: true},
      {label: 'Exempt', num: true}, {label: 'Attainment', num: true},
    ], {id: 'sla-table'});
    this.sla.body.append(this.slaDef, this.trendChart,
      h('details', {class: 'more'}, h('summary', {}, 'Attainment per period, in numbers'), wrap(this.trendTable.el)),
      h('h3', {}, 'Per SLA'), wrap(this.perSLA.el));

    this.breakdown = section('Breakdown', {id: 'breakdown'});

    el.append(this.filters.el, this.status, this.cards,
      h('div', {class: 'grid'}, this.funnel.el, this.velocity.el, this.sla.el, this.breakdown.el));
    this.charts = {
      funnel: responsive(this.funnelChart, () => hbars(300, {title: 'Funnel', desc: '', rows: []})),
      velocity: responsive(this.velocityChart, () => hbars(300, {title: 'Velocity', desc: '', rows: []})),
      trend: responsive(this.trendChart, () => line(300, {title: 'SLA attainment trend', desc: '', points: []})),
    };
  }

  async update(params) {
    this.params = params;
    this.seen = {};
    this.filters.set({workflow: params.workflow || '', interval: params.interval || 'day',
      from: params.from || '', to: params.to || ''});
    this.ctx.title(params.workflow ? `Executive: ${params.workflow}` : 'Executive: all workflows');
    // The fields to break down by come from the workflows' graphs; the
    // reports that do not need them are asked for meanwhile.
    this.byChoice = dimensions(this.ctx, params.workflow).then((dims) => {
      this.filters.options('by', [{value: 'none', label: 'Nothing'},
        ...(dims.enums.length ? [{group: 'Choice fields', options: dims.enums.map((f) => ({value: f, label: f}))}] : []),
        ...(dims.strings.length ? [{group: 'Text fields', options: dims.strings.map((f) => ({value: f, label: f}))}] : [])]);
      // By default the first choice (enum) field: a region, a segment, a source.
      const by = params.by === 'none' ? '' : params.by || dims.enums[0] || '';
      this.filters.set({by: by || 'none'});
      return by;
    });
    await this.refresh();
  }

  async refresh() {
    const p = this.params;
    const q = {workflow: p.workflow, from: p.from, to: p.to};
    const interval = p.interval || 'day';
    const breakdown = this.byChoice.then((by) => Promise.all([
      by,
      by ? api('v1/reports/funnel', {query: {...q, by}}) : null,
      by ? api('v1/reports/sla', {query: {...q, by}}) : null,
    ]));
    const calls = [
      api('v1/reports/funnel', {query: q}),
      api('v1/reports/velocity', {query: q}),
      api('v1/reports/sla', {query: {...q, interval}}),
      api('v1/reports/aging', {query: {workflow: p.workflow}}),
      api('v1/leads', {query: {workflow: p.workflow, stuck: 'true', limit: 1}}),
      breakdown,
    ];
    let funnel; let velocity; let sla; let aging; let stuck; let by; let funnelBy; let slaBy;
    try {
      [funnel, velocity, sla, aging, stuck, [by, funnelBy, slaBy]] = await Promise.all(calls);
    } catch (err) {
      this.status.replaceChildren(problem(err));
      throw err;
    }
    this.status.replaceChildren();
    // The window the server used (the last 30 days unless chosen).
    this.filters.set({from: funnel.from, to: funnel.to});
    this.renderCards(funnel, sla, aging, stuck);
    if (this.changed('funnel', funnel)) this.renderFunnel(funnel);
    if (this.changed('velocity', velocity)) this.renderVelocity(velocity);
    if (this.changed('sla', sla)) this.renderSLA(sla);
    if (this.changed('by', [by, funnelBy, slaBy])) this.renderBreakdown(by, funnelBy, slaBy);
  }

  // changed reports whether a section's data differs from what it shows.
  changed(key, data) {
    const s = JSON.stringify(data);
    if (this.seen[key] === s) return false;
    this.seen[key] = s;
    return true;
  }

  stop() {
    for (const c of Object.values(this.charts)) c.stop();
    for (const c of this.byCharts || []) c.stop();
  }

  renderCards(funnel, sla, aging, stuck) {
    const captured = funnel.rows.find((r) => r.group === 'all' && r.label === 'captured');
    const t = totals(sla.rows);
    const open = aging.rows.filter((r) => r.group === 'all').reduce((n, r) => n + r.leads, 0);
    const cards = [
      {key: 'captured', label: 'Leads captured', value: fmt.int(captured ? captured.leads : 0), note: `${funnel.from} to ${funnel.to}`},
      {key: 'attainment', label: 'SLA attainment', value: fmt.pct(ratio(t.met, t.met + t.breached)), note: `${fmt.int(t.met)} met, ${fmt.int(t.breached)} breached`},
      {key: 'open', label: 'Leads open now', value: fmt.int(open), note: 'in a stage that is not terminal'},
      {key: 'stuck', label: 'Stuck now', value: fmt.int(stuck.total ?? stuck.leads.length), note: 'waiting for an override'},
    ];
    for (const c of cards) {
      let li = this.cards.querySelector(`[data-key="${c.key}"]`);
      if (!li) {
        li = h('li', {dataset: {key: c.key}}, h('p', {class: 'kpi-label'}, c.label), h('p', {class: 'kpi'}), h('p', {class: 'kpi-note'}));
        this.cards.append(li);
      }
      setText(li.querySelector('.kpi'), c.value);
      setText(li.querySelector('.kpi-note'), c.note);
    }
  }

  renderFunnel(r) {
    setText(this.funnelDef, r.definition);
    const rows = r.rows.filter((x) => x.group === 'all');
    setText(this.funnelTable.caption, `Leads captured from ${r.from} to ${r.to} that reached each lifecycle label`);
    fillRows(this.funnelTable.tbody, rows, (x) => x.label, (x) => [
      label(x.label),
      {text: fmt.int(x.leads), num: true},
      {text: x.label === 'captured' ? '—' : fmt.pct(x.conversion_from_previous), num: true},
      {text: fmt.pct(x.conversion_from_captured), num: true},
    ], `No lead was captured from ${r.from} to ${r.to}.`);
    this.charts.funnel.update((w) => hbars(w, {
      title: 'Funnel by lifecycle',
      desc: rows.map((x) => `${label(x.label)}: ${x.leads} leads, ${fmt.pct(x.conversion_from_captured)} of captured`).join('; ') || 'No leads.',
      rows: rows.map((x) => ({label: label(x.label), bars: [{value: x.leads, text: `${fmt.int(x.leads)} · ${fmt.pct(x.conversion_from_captured)}`}]})),
    }));
    ready('lead:funnel');
  }

  renderVelocity(r) {
    setText(this.velocityDef, r.definition);
    const labels = r.rows.filter((x) => x.group === 'all' && x.kind === 'label');
    const stages = r.rows.filter((x) => x.group === 'all' && x.kind === 'stage');
    const cells = (x) => [x.name, {text: fmt.int(x.count), num: true}, {text: x.p50, num: true}, {text: x.p90, num: true}];
    fillRows(this.velocityTable.tbody, labels, (x) => x.name, cells, 'No lead captured in the window has reached a lifecycle label yet.');
    fillRows(this.stageTable.tbody, stages, (x) => x.name, cells, 'No stay in a stage ended in the window.');
    this.charts.velocity.update((w) => hbars(w, {
      title: 'Time from capture to each lifecycle label',
      desc: labels.map((x) => `${x.name}: median ${x.p50}, 90th percentile ${x.p90}`).join('; ') || 'No data.',
      legend: [{label: 'median (p50)'}, {label: '90th percentile (p90)', cls: 'alt'}],
      rows: labels.map((x) => ({label: x.name, bars: [
        {value: x.p50_seconds, text: `p50 ${x.p50}`},
        {value: x.p90_seconds, text: `p90 ${x.p90}`, cls: 'alt'},
      ]})),
    }));
  }

  renderSLA(r) {
    setText(this.slaDef, r.definition);
    const rows = r.rows.filter((x) => x.group === 'all');
    // Per period, every SLA together.
    const byPeriod = new Map();
    const bySLA = new Map();
    for (const x of rows) {
      add(byPeriod, x.period, x);
      add(bySLA, `${x.sla}\u0000${x.stage}`, x);
    }
    const points = periods(r.from, r.to, r.interval).map((p) => {
      const t = byPeriod.get(p) || {met: 0, warned: 0, breached: 0, exempt: 0};
      const v = ratio(t.met, t.met + t.breached);
      return {label: p, short: p.slice(5), value: v, text: fmt.pct(v), t};
    });
    fillRows(this.trendTable.tbody, points, (x) => x.label, (x) => [
      x.label, {text: fmt.int(x.t.met), num: true}, {text: fmt.int(x.t.warned), num: true},
      {text: fmt.int(x.t.breached), num: true}, {text: x.text, num: true},
    ]);
    const per = [...bySLA.values()].sort((a, b) => a.sla.localeCompare(b.sla) || a.stage.localeCompare(b.stage));
    fillRows(this.perSLA.tbody, per, (x) => `${x.sla}\u0000${x.stage}`, (x) => [
      x.sla, x.stage, {text: fmt.int(x.met), num: true}, {text: fmt.int(x.warned), num: true},
      {text: fmt.int(x.breached), num: true}, {text: fmt.int(x.exempt), num: true},
      {text: fmt.pct(ratio(x.met, x.met + x.breached)), num: true},
    ], 'No SLA was met, warned or breached in the window.');
    const unit = r.interval === 'week' ? 'week' : 'day';
    this.charts.trend.update((w) => line(w, {
      title: `SLA attainment per ${unit}`,
      desc: points.filter((x) => x.value !== null).map((x) => `${x.label}: ${x.text}`).join('; ') || 'No SLA closed in the window.',
      points,
    }));
  }

  renderBreakdown(by, funnel, sla) {
    const body = this.breakdown.body;
    setText(this.breakdown.heading, by ? `Breakdown by ${by}` : 'Breakdown');
    if (!by) {
      body.replaceChildren(h('p', {class: 'muted'}, 'Choose a field in “Break down by” to compare groups of leads.'));
      return;
    }
    // Groups with their funnel and their SLA totals.
    const labels = [];
    const groups = new Map();
    const group = (g) => {
      if (!groups.has(g)) groups.set(g, {name: g, labels: new Map(), met: 0, breached: 0});
      return groups.get(g);
    };
    for (const x of funnel.rows) {
      if (!labels.includes(x.label)) labels.push(x.label);
      group(x.group).labels.set(x.label, x);
    }
    for (const x of sla.rows) {
      const g = group(x.group);
      g.met += x.met;
      g.breached += x.breached;
    }
    const list = [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (!this.byTable || this.byTable.by !== by || this.byTable.labels.join() !== labels.join()) {
      const cols = [{label: by}, ...labels.map((l) => ({label: label(l), num: true})), {label: 'SLA attainment', num: true}];
      this.byTable = table(`Leads captured from ${funnel.from} to ${funnel.to} by ${by}: how many reached each lifecycle label (share of captured), and SLA attainment`, cols, {id: 'breakdown-table'});
      this.byTable.by = by;
      this.byTable.labels = labels;
      for (const c of this.byCharts || []) c.stop();
      const capturedBox = h('div', {class: 'chart-box'});
      const attainmentBox = h('div', {class: 'chart-box'});
      body.replaceChildren(h('p', {class: 'definition'}, `Each group is the leads whose ${by} had that value. The funnel counts them by capture day; SLA outcomes by the day they happened.`),
        h('h3', {}, `Leads captured by ${by}`), capturedBox,
        h('h3', {}, `SLA attainment by ${by}`), attainmentBox, wrap(this.byTable.el));
      const empty = () => hbars(300, {title: '', desc: '', rows: []});
      this.byCharts = [responsive(capturedBox, empty), responsive(attainmentBox, empty)];
    }
    setText(this.byTable.caption, `Leads captured from ${funnel.from} to ${funnel.to} by ${by}: how many reached each lifecycle label (share of captured), and SLA attainment`);
    fillRows(this.byTable.tbody, list, (g) => g.name, (g) => [
      g.name,
      ...labels.map((l) => {
        const x = g.labels.get(l);
        if (!x) return {text: '—', num: true};
        return {text: l === 'captured' ? fmt.int(x.leads) : `${fmt.int(x.leads)} (${fmt.pct(x.conversion_from_captured)})`, num: true};
      }),
      {text: fmt.pct(ratio(g.met, g.met + g.breached)), num: true},
    ], `No lead was captured from ${funnel.from} to ${funnel.to}.`);
    const captured = (g) => (g.labels.get('captured') || {leads: 0}).leads;
    const attainment = (g) => ratio(g.met, g.met + g.breached);
    this.byCharts[0].update((w) => hbars(w, {
      title: `Leads captured by ${by}`,
      desc: list.map((g) => `${g.name}: ${captured(g)}`).join('; ') || 'No data.',
      rows: list.map((g) => ({label: g.name, bars: [{value: captured(g), text: `${fmt.int(captured(g))} captured`}]})),
    }));
    this.byCharts[1].update((w) => hbars(w, {
      title: `SLA attainment by ${by}`,
      desc: list.map((g) => `${g.name}: ${fmt.pct(attainment(g))}`).join('; ') || 'No data.',
      max: 1,
      rows: list.map((g) => ({label: g.name, bars: [{value: attainment(g) ?? 0, text: `SLA ${fmt.pct(attainment(g))}`, cls: 'alt'}]})),
    }));
  }
}

function add(m, key, x) {
  if (!m.has(key)) m.set(key, {sla: x.sla, stage: x.stage, met: 0, warned: 0, breached: 0, exempt: 0});
  const t = m.get(key);
  t.met += x.met;
  t.warned += x.warned;
  t.breached += x.breached;
  t.exempt += x.exempt;
}

function totals(rows) {
  const t = {met: 0, breached: 0};
  for (const x of rows) {
    if (x.group !== 'all') continue;
    t.met += x.met;
    t.breached += x.breached;
  }
  return t;
}

// periods lists the periods of a window as the reports name them: each
// day, or the Monday of each week.
export function periods(from, to, interval) {
  const out = [];
  const d = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  if (interval === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  const step = interval === 'week' ? 7 : 1;
  for (; d <= end && out.length < 4000; d.setUTCDate(d.getUTCDate() + step)) out.push(d.toISOString().slice(0, 10));
  return out;
}
