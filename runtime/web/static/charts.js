// charts.js: small SVG charts drawn at the width of their container (so
// that their text stays legible on a phone) and redrawn when it changes.
// Each chart is an image with a title and a description that states its
// numbers; the views also show the same numbers in a table.

import {s, id} from './dom.js';

// responsive draws into container with draw(width) and redraws when the
// container's width changes or update() gives new data.
export function responsive(container, draw) {
  let drawn = 0;
  let drawer = draw;
  const render = () => {
    const w = Math.floor(container.clientWidth);
    if (!w) return;
    drawn = w;
    container.replaceChildren(drawer(w));
  };
  const ro = new ResizeObserver(() => {
    if (Math.floor(container.clientWidth) !== drawn) render();
  });
  ro.observe(container);
  render();
  return {
    update(d) {
      drawer = d;
      render();
    },
    stop() {
      ro.disconnect();
    },
  };
}

// frame makes the <svg> of a chart with its title and description.
function frame(width, height, title, desc) {
  const tid = id('chart-title');
  const did = id('chart-desc');
  return s('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart',
    'aria-labelledby': tid, 'aria-describedby': did,
  }, s('title', {id: tid}, title), s('desc', {id: did}, desc));
}

// fit shortens text to about chars characters, with an ellipsis.
function fit(text, chars) {
  return text.length <= chars ? text : text.slice(0, Math.max(1, chars - 1)) + '…';
}

const CHAR = 7.2; // average width of a 12px character

// hbars draws horizontal bars: one group per row, one bar per value in
// the group (at most a few), each with its text at its end. rows are
// {label, bars: [{value, text, cls}]}; max is the scale's end (default
// the largest value).
export function hbars(width, {title, desc, rows, max, legend}) {
  const barH = 18;
  const gap = 10;
  const inner = 4;
  const legendH = legend ? 24 : 0;
  const labelW = Math.min(170, Math.max(70, Math.round(width * 0.3)));
  const textW = Math.min(150, Math.max(70, Math.round(width * 0.24)));
  const barW = Math.max(20, width - labelW - textW - 12);
  const top = legendH + 4;
  let height = top;
  for (const r of rows) height += r.bars.length * (barH + inner) - inner + gap;
  height = Math.max(height, top + 24);
  const scale = max || Math.max(0, ...rows.flatMap((r) => r.bars.map((b) => b.value))) || 1;
  const svg = frame(width, height, title, desc);
  if (legend) {
    let x = labelW;
    for (const l of legend) {
      svg.append(s('rect', {x, y: 4, width: 14, height: 14, class: `bar ${l.cls || ''}`}));
      svg.append(s('text', {x: x + 20, y: 16, class: 'legend'}, l.label));
      x += 28 + l.label.length * CHAR;
    }
  }
  let y = top;
  if (!rows.length) {
    svg.append(s('text', {x: 0, y: y + 16, class: 'muted'}, 'No data in this window'));
  }
  for (const r of rows) {
    const groupH = r.bars.length * (barH + inner) - inner;
    const label = s('text', {x: labelW - 8, y: y + groupH / 2 + 4, class: 'label', 'text-anchor': 'end'}, fit(r.label, Math.floor((labelW - 8) / CHAR)));
    if (fit(r.label, Math.floor((labelW - 8) / CHAR)) !== r.label) label.append(s('title', {}, r.label));
    svg.append(label);
    for (const b of r.bars) {
      const w = Math.max(b.value > 0 ? 2 : 0, Math.round((b.value / scale) * barW));
      svg.append(s('rect', {x: labelW, y, width: w, height: barH, rx: 2, class: `bar ${b.cls || ''}`}));
      svg.append(s('text', {x: labelW + w + 6, y: y + barH - 5, class: 'value'}, b.text));
      y += barH + inner;
    }
    y += gap - inner;
  }
  return svg;
}

// line draws a share (0 to 1) over periods, with a gap where a period has
// no value. points are {label, value (null for none), text}.
export function line(width, {title, desc, points}) {
  const height = 220;
  const left = 48;
  const right = 12;
  const top = 12;
  const bottom = 40;
  const plotW = Math.max(20, width - left - right);
  const plotH = height - top - bottom;
  const svg = frame(width, height, title, desc);
  const x = (i) => left + (points.length <= 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (v) => top + (1 - v) * plotH;
  for (const v of [0, 0.5, 1]) {
    svg.append(s('line', {x1: left, x2: left + plotW, y1: y(v), y2: y(v), class: 'grid'}));
    svg.append(s('text', {x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis'}, `${Math.round(v * 100)}%`));
  }
  // Label as many periods as fit, always the first and the last.
  const every = Math.max(1, Math.ceil((points.length * 80) / plotW));
  points.forEach((p, i) => {
    if (i % every === 0 || i === points.length - 1) {
      if (i !== points.length - 1 && points.length - 1 - i < every) return;
      // The first and last labels keep inside the chart.
      let anchor = 'middle';
      if (points.length > 1 && i === 0) anchor = 'start';
      if (points.length > 1 && i === points.length - 1) anchor = 'end';
      svg.append(s('text', {x: x(i), y: height - bottom + 18, 'text-anchor': anchor, class: 'axis'}, p.short || p.label));
    }
  });
  let run = [];
  const flush = () => {
    if (run.length > 1) svg.append(s('polyline', {points: run.map(([a, b]) => `${a},${b}`).join(' '), class: 'line'}));
    run = [];
  };
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) {
      flush();
      return;
    }
    run.push([x(i), y(p.value)]);
  });
  flush();
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) return;
    svg.append(s('circle', {cx: x(i), cy: y(p.value), r: 4, class: 'point'}, s('title', {}, `${p.label}: ${p.text}`)));
  });
  if (!points.some((p) => p.value !== null && p.value !== undefined)) {
    svg.append(s('text', {x: left + plotW / 2, y: top + plotH / 2, 'text-anchor': 'middle', class: 'muted'}, 'No SLA closed in this window'));
  }
  return svg;
}
