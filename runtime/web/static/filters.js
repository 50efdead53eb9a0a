// filters.js: the controls above a view (workflow, window, breakdown,
// interval, owner). They live as long as the view, so that a change
// keeps focus on the control that made it; the view is told the new
// values and the URL changes with them (every view is a link).

import {h, id} from './dom.js';
import {graph} from './api.js';

const specs = {
  workflow: {label: 'Workflow'},
  from: {label: 'From', type: 'date'},
  to: {label: 'To', type: 'date'},
  by: {label: 'Break down by'},
  interval: {label: 'Trend by'},
  owner: {label: 'Owner'},
  sla: {label: 'SLA state'},
};

export class Filters {
  // names: the controls, in order; opts.allWorkflows offers "All
  // workflows"; onChange(values) is called on every change.
  constructor(ctx, names, opts, onChange) {
    this.ctx = ctx;
    this.controls = {};
    this.el = h('form', {class: 'filters', 'aria-label': 'Filters', novalidate: true, onsubmit: (e) => e.preventDefault()});
    for (const name of names) {
      const spec = specs[name];
      const cid = id(`f-${name}`);
      const control = spec.type
        ? h('input', {id: cid, name, type: spec.type})
        : h('select', {id: cid, name});
      control.addEventListener('change', () => onChange(this.values()));
      this.controls[name] = control;
      this.el.append(h('div', {class: 'field'}, h('label', {for: cid}, spec.label), control));
    }
    if (this.controls.workflow) {
      const opts2 = ctx.workflows.map((w) => ({value: w.name, label: w.name}));
      if (opts.allWorkflows) opts2.unshift({value: '', label: 'All workflows'});
      this.options('workflow', opts2);
    }
    if (this.controls.interval) {
      this.options('interval', [{value: 'day', label: 'Day'}, {value: 'week', label: 'Week'}]);
    }
    if (this.controls.sla) {
      this.options('sla', [
        {value: '', label: 'All open'},
        {value: 'warned', label: 'Warned'},
        {value: 'running', label: 'Running'},
        {value: 'breached', label: 'Breached'},
      ]);
    }
  }

  // options replaces a select's options, keeping its value if it is
  // still offered. Options are {value, label} or {group, options}.
  options(name, list) {
    const sel = this.controls[name];
    const keep = sel.value;
    const opt = (o) => h('option', {value: o.value}, o.label);
    sel.replaceChildren(...list.map((o) => (o.group ? h('optgroup', {label: o.group}, o.options.map(opt)) : opt(o))));
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  }

  // set shows values without announcing a change; a control being used
  // (it has focus) keeps what it shows.
  set(values) {
    for (const [name, control] of Object.entries(this.controls)) {
      if (values[name] === undefined || control === document.activeElement) continue;
      if (control.tagName === 'SELECT' && ![...control.options].some((o) => o.value === values[name])) {
        control.append(h('option', {value: values[name]}, values[name]));
      }
      control.value = values[name];
    }
  }

  values() {
    const out = {};
    for (const [name, control] of Object.entries(this.controls)) out[name] = control.value;
    return out;
  }
}

// dimensions lists the fields a report can break down by: the enum and
// string fields of the workflow's lead (of every workflow when none is
// chosen), enums first, as the server's report.Dimensions chooses them.
export async function dimensions(ctx, workflow) {
  const wfs = ctx.workflows.filter((w) => !workflow || w.name === workflow);
  const graphs = await Promise.all(wfs.map((w) => graph(w.name, w.active_version)));
  const enums = [];
  const strings = [];
  for (const g of graphs) {
    for (const f of g.lead || []) {
      const list = f.type.kind === 'enum' ? enums : f.type.kind === 'string' ? strings : null;
      if (list && !enums.includes(f.name) && !strings.includes(f.name)) list.push(f.name);
    }
  }
  return {enums, strings};
}
