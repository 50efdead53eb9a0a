// graph.js: a workflow's compiled graph (GET
// /v1/workflows/{workflow}/versions/{version}) as edges, a layered
// layout and an SVG drawing whose per-stage counts can change in place.

import {s, id} from './dom.js';

// edges lists every possible move of a lead, as the compiler's
// ir.Workflow.Edges does: per stage its event, automatic, timer, SLA,
// enter and exception edges; then the workflow's exception handlers,
// whose moves start from any stage (from "").
export function edges(g) {
  const out = [];
  const moveIn = (from, eid, kind, label, actions) => {
    for (const a of actions || []) {
      if (a.kind === 'move') out.push({id: eid, from, to: a.target, kind, label});
    }
  };
  for (const st of g.stages) {
    for (const t of st.on || []) out.push({id: t.id, from: st.name, to: t.target, kind: 'event', label: transitionLabel(t)});
    for (const t of st.when || []) out.push({id: t.id, from: st.name, to: t.target, kind: 'auto', label: transitionLabel(t)});
    for (const t of st.after || []) out.push({id: t.id, from: st.name, to: t.target, kind: 'timer', label: `after ${duration(t.after, t.calendar)}`});
    for (const sla of st.slas || []) {
      if (sla.warn) moveIn(st.name, `${sla.id}.warn`, 'sla', `sla ${sla.name} warn`, sla.warn.actions);
      moveIn(st.name, `${sla.id}.breach`, 'sla', `sla ${sla.name} breach`, sla.breach);
    }
    moveIn(st.name, `${st.name}#enter`, 'action', 'enter', st.enter);
    for (const e of st.exceptions || []) moveIn(st.name, e.id, 'exception', `exception ${e.kind}`, e.actions);
  }
  for (const e of g.exceptions || []) moveIn('', e.id, 'exception', `exception ${e.kind}`, e.actions);
  return out;
}

function transitionLabel(t) {
  let label = (t.events || []).join(', ');
  if (t.guard) label += `${label ? ' ' : ''}when ${t.guard.src}`;
  return label || 'always';
}

// duration writes a Go duration ("4320h0m0s", as the graph's JSON has
// it) as Lead writes it: 180d, 1d12h, 4h on us_business (on a calendar,
// working hours, never days).
export function duration(text, calendar) {
  let ms = 0;
  const units = {h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6};
  for (const [, n, u] of String(text).matchAll(/([\d.]+)(ms|us|µs|ns|h|m|s)/g)) ms += Number(n) * units[u];
  const parts = calendar ? [['h', 3600e3], ['m', 60e3], ['s', 1e3]] : [['d', 86400e3], ['h', 3600e3], ['m', 60e3], ['s', 1e3]];
  let out = '';
  for (const [u, size] of parts) {
    const n = Math.floor(ms / size);
    if (n > 0) {
      out += `${n}${u}`;
      ms -= n * size;
    }
  }
  out = out || '0s';
  return calendar ? `${out} on ${calendar}` : out;
}

const W = 200; // a stage's box
const H = 58;
const VW = 14; // the room a line takes where it passes through a layer
const GAP_X = 28;
const GAP_Y = 70;
const MARGIN = 16;
const SIDE = 90; // room on the right for lines that go back up

// pairsOf merges the edges between the same two stages into one line.
function pairsOf(es, known) {
  const pairs = new Map();
  for (const e of es) {
    if (!e.from || !known.has(e.from) || !known.has(e.to)) continue;
    const k = `${e.from}\u0000${e.to}`;
    if (!pairs.has(k)) pairs.set(k, {key: k, from: e.from, to: e.to, kinds: new Set(), labels: []});
    pairs.get(k).kinds.add(e.kind);
    pairs.get(k).labels.push(e.label);
  }
  return [...pairs.values()];
}

// layout puts the stages in layers, top to bottom: the start stage
// first, each stage one layer below the nearest stage that leads to it,
// the terminal stages together at the bottom. A line that goes down
// more than one layer passes through the layers between at a place of
// its own (a virtual node, as in Sugiyama's method), so that it goes
// around boxes rather than through them. Within a layer, the order is
// the mean position of the neighbours (a few sweeps of the barycenter
// heuristic), which keeps lines short and crossings few.
export function layout(g, es) {
  const names = g.stages.map((st) => st.name);
  const known = new Set(names);
  const terminal = new Set(g.stages.filter((st) => st.terminal).map((st) => st.name));
  const pairs = pairsOf(es, known);
  const next = new Map(names.map((n) => [n, []]));
  for (const p of pairs) if (p.from !== p.to) next.get(p.from).push(p.to);
  const layer = new Map();
  const queue = [];
  if (known.has(g.start)) {
    layer.set(g.start, 0);
    queue.push(g.start);
  }
  while (queue.length) {
    const n = queue.shift();
    for (const m of next.get(n)) {
      if (!layer.has(m) && !terminal.has(m)) {
        layer.set(m, layer.get(n) + 1);
        queue.push(m);
      }
    }
  }
  let deepest = Math.max(0, ...layer.values());
  const unreached = names.filter((n) => !layer.has(n) && !terminal.has(n));
  if (unreached.length) deepest += 1;
  for (const n of unreached) layer.set(n, deepest);
  for (const n of terminal) layer.set(n, deepest + 1);
  // Links between neighbouring layers: short lines, and the pieces of
  // long ones through their virtual nodes.
  const up = new Map();
  const down = new Map();
  const link = (a, b) => {
    (down.get(a) || down.set(a, []).get(a)).push(b);
    (up.get(b) || up.set(b, []).get(b)).push(a);
  };
  const chains = new Map();
  for (const p of pairs) {
    const la = layer.get(p.from);
    const lb = layer.get(p.to);
    if (p.from === p.to) continue;
    if (lb - la > 1) {
      const chain = [];
      let prev = p.from;
      for (let l = la + 1; l < lb; l++) {
        const v = `${p.key}\u0000${l}`;
        layer.set(v, l);
        chain.push(v);
        link(prev, v);
        prev = v;
      }
      link(prev, p.to);
      chains.set(p.key, chain);
    } else {
      link(p.from, p.to);
    }
  }
  const rows = [];
  for (const n of [...names, ...[...chains.values()].flat()]) {
    const l = layer.get(n);
    (rows[l] = rows[l] || []).push(n);
  }
  const layers = rows.filter(Boolean);
  const pos = new Map();
  layers.forEach((row) => row.forEach((n, i) => pos.set(n, (i + 0.5) / row.length)));
  const bary = (n, links) => {
    const xs = (links.get(n) || []).filter((m) => pos.has(m)).map((m) => pos.get(m));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : pos.get(n);
  };
  for (let sweep = 0; sweep < 6; sweep++) {
    const order = sweep % 2 === 0 ? layers : [...layers].reverse();
    const links = sweep % 2 === 0 ? up : down;
    for (const row of order) {
      const key = new Map(row.map((n) => [n, bary(n, links)]));
      row.sort((a, b) => key.get(a) - key.get(b));
      row.forEach((n, i) => pos.set(n, (i + 0.5) / row.length));
    }
  }
  const width = (n) => (known.has(n) ? W : VW);
  const rowW = (row) => row.reduce((a, n) => a + width(n), 0) + (row.length - 1) * GAP_X;
  const inner = Math.max(...layers.map(rowW));
  const boxes = new Map();
  const passes = new Map();
  layers.forEach((row, li) => {
    let x = MARGIN + (inner - rowW(row)) / 2;
    for (const n of row) {
      const y = MARGIN + li * (H + GAP_Y);
      if (known.has(n)) boxes.set(n, {x, y, layer: li});
      else passes.set(n, {x: x + VW / 2, y});
      x += width(n) + GAP_X;
    }
  });
  return {boxes, passes, chains, pairs, width: MARGIN * 2 + inner + SIDE, height: MARGIN * 2 + layers.length * H + (layers.length - 1) * GAP_Y};
}

// draw returns the graph's <svg> and, per stage, the text that shows its
// count (the view changes it in place).
export function draw(g, es, lay, {title, desc}) {
  const marker = id('arrow');
  const tid = id('graph-title');
  const did = id('graph-desc');
  const svg = s('svg', {
    width: lay.width, height: lay.height, viewBox: `0 0 ${lay.width} ${lay.height}`,
    class: 'graph', role: 'img', 'aria-labelledby': tid, 'aria-describedby': did,
  });
  svg.append(s('title', {id: tid}, title), s('desc', {id: did}, desc),
    s('defs', {}, s('marker', {id: marker, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'},
      s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'}))));
  const layerOf = (n) => lay.boxes.get(n).layer;
  const down = lay.pairs.filter((p) => layerOf(p.to) > layerOf(p.from));
  // Spread the ends of the lines that leave or enter one box, in the
  // order of where they go to (or come from), so that they do not cross
  // at the box.
  const first = (p) => (lay.chains.get(p.key) || [])[0];
  const last = (p) => (lay.chains.get(p.key) || []).at(-1);
  const xOf = (n) => (lay.boxes.has(n) ? lay.boxes.get(n).x + W / 2 : lay.passes.get(n).x);
  const ends = (list, p, toward) => {
    const sorted = [...list].sort((a, b) => xOf(toward(a)) - xOf(toward(b)));
    const i = sorted.indexOf(p);
    return W / 2 + (i - (sorted.length - 1) / 2) * Math.min(28, (W - 40) / Math.max(1, sorted.length));
  };
  const lines = s('g', {class: 'edges'});
  for (const p of lay.pairs) {
    const a = lay.boxes.get(p.from);
    const b = lay.boxes.get(p.to);
    const kind = ['event', 'auto', 'timer', 'sla', 'exception', 'action'].find((k) => p.kinds.has(k));
    let d;
    if (p.from === p.to) {
      const x = a.x + W;
      const y = a.y + H / 2;
      d = `M${x},${y - 12} C${x + 40},${y - 34} ${x + 40},${y + 34} ${x},${y + 12}`;
    } else if (b.layer > a.layer) {
      const outs = down.filter((q) => q.from === p.from);
      const ins = down.filter((q) => q.to === p.to);
      const points = [[a.x + ends(outs, p, (q) => first(q) || q.to), a.y + H]];
      for (const v of lay.chains.get(p.key) || []) {
        const at = lay.passes.get(v);
        points.push([at.x, at.y], [at.x, at.y + H]);
      }
      points.push([b.x + ends(ins, p, (q) => last(q) || q.from), b.y]);
      d = `M${points[0][0]},${points[0][1]}`;
      for (let i = 1; i < points.length; i++) {
        const [x0, y0] = points[i - 1];
        const [x1, y1] = points[i];
        if (x0 === x1 && i % 2 === 0) {
          d += ` L${x1},${y1}`; // straight down through a layer
        } else {
          const dy = Math.max(20, (y1 - y0) / 2);
          d += ` C${x0},${y0 + dy} ${x1},${y1 - dy} ${x1},${y1}`;
        }
      }
    } else {
      // Back up (or across): out of the right side, round, into the right side.
      const x1 = a.x + W;
      const y1 = a.y + H / 2 + 8;
      const x2 = b.x + W;
      const y2 = b.y + H / 2 - 8;
      const bulge = 30 + 18 * Math.abs(a.layer - b.layer);
      const xr = Math.min(lay.width - 4, Math.max(x1, x2) + bulge);
      d = `M${x1},${y1} C${xr},${y1} ${xr},${y2} ${x2},${y2}`;
    }
    lines.append(s('path', {d, class: `edge edge-${kind}`, 'marker-end': `url(#${marker})`},
      s('title', {}, `${p.from} → ${p.to}: ${p.labels.join('; ')}`)));
  }
  svg.append(lines);
  const counts = new Map();
  const stages = new Map(g.stages.map((st) => [st.name, st]));
  for (const [name, b] of lay.boxes) {
    const st = stages.get(name);
    const count = s('text', {x: 10, y: 48, class: 'count'}, '…');
    const short = name.length > 25 ? `${name.slice(0, 24)}…` : name;
    const node = s('g', {class: `node${st.terminal ? ' terminal' : ''}`, transform: `translate(${b.x},${b.y})`, dataset: {stage: name}},
      s('title', {}, `${name}${st.lifecycle ? ` (${st.lifecycle})` : ''}${st.terminal ? ', terminal' : ''}`),
      s('rect', {width: W, height: H, rx: 6, class: 'box'}),
      st.terminal ? s('rect', {x: 3, y: 3, width: W - 6, height: H - 6, rx: 4, class: 'box-inner'}) : null,
      s('text', {x: 10, y: 20, class: 'name'}, short),
      s('text', {x: W - 10, y: 48, class: 'lifecycle', 'text-anchor': 'end'}, st.lifecycle || ''),
      count);
    svg.append(node);
    counts.set(name, {text: count, node});
  }
  return {svg, counts};
}

// legend explains the lines' styles in words.
export const kinds = {
  event: 'on an event',
  auto: 'automatic (a condition)',
  timer: 'after a time',
  sla: 'an SLA’s warning or breach',
  exception: 'an exception handler',
  action: 'an action on entering',
};
