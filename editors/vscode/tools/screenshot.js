// Renders images/screenshot.png for the README: a stretch of a workflow
// coloured by this extension's TextMate grammar (with the colours of VS
// Code's Dark+ theme), with the diagnostics `lead check` reports, as the
// language server publishes them, underlined and the first one shown
// with its quick fix. No VS Code is needed, so it runs on a build machine:
//
//   node tools/screenshot.js FILE.lead FIRST_LINE LAST_LINE
//
// It runs `lead` from PATH (or $LEAD) and headless Chromium ($CHROMIUM).
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const [file, first, last] = process.argv.slice(2);
if (!file || !first || !last) {
  console.error('usage: node tools/screenshot.js FILE.lead FIRST_LINE LAST_LINE');
  process.exit(2);
}

// Dark+ colours by scope, most specific first.
const colours = [
  ['comment', '#6A9955'],
  ['string', '#CE9178'],
  ['constant.character.escape', '#D7BA7D'],
  ['constant.numeric', '#B5CEA8'],
  ['constant.language', '#569CD6'],
  ['support.constant', '#4FC1FF'],
  ['entity.name', '#4EC9B0'],
  ['support.function', '#DCDCAA'],
  ['variable.language', '#569CD6'],
  ['variable.other.member', '#9CDCFE'],
  ['storage.type', '#4EC9B0'],
  ['keyword.operator', '#D4D4D4'],
  ['keyword.control', '#C586C0'],
  ['keyword', '#569CD6'],
];

function colourOf(scopes) {
  for (let i = scopes.length - 1; i >= 0; i--) {
    for (const [prefix, colour] of colours) {
      if (scopes[i] === prefix || scopes[i].startsWith(prefix + '.')) {
        return colour;
      }
    }
  }
  return '#D4D4D4';
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

async function main() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p) => new oniguruma.OnigScanner(p),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () => vsctm.parseRawGrammar(
      fs.readFileSync(path.join(__dirname, '..', 'syntaxes', 'lead.tmLanguage.json'), 'utf8'), 'lead.tmLanguage.json'),
  });
  const grammar = await registry.loadGrammar('source.lead');
  // lead check exits 1 when it finds errors: its report is on stdout all the same.
  const check = spawnSync(process.env.LEAD || 'lead', ['check', '--format', 'json', file], { encoding: 'utf8' });
  if (check.status !== 0 && check.status !== 1) {
    throw new Error(`lead check: ${check.error || check.stderr}`);
  }
  const report = JSON.parse(check.stdout);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let state = vsctm.INITIAL;
  let html = '';
  let shownBox = false;
  for (let n = 1; n <= Math.min(Number(last), lines.length); n++) {
    const text = lines[n - 1];
    const r = grammar.tokenizeLine(text, state);
    state = r.ruleStack;
    if (n < Number(first)) {
      continue;
    }
    const diags = report.diagnostics.filter((d) => d.line === n);
    // Cut tokens where a diagnostic starts and ends, so the squiggle
    // covers exactly its range (columns are 1-based, in characters).
    const cuts = new Set();
    for (const d of diags) {
      cuts.add(d.column - 1);
      cuts.add(d.end_column - 1);
    }
    let row = '';
    for (const t of r.tokens) {
      let start = t.startIndex;
      const ends = [...cuts].filter((c) => c > start && c < t.endIndex).sort((a, b) => a - b).concat([t.endIndex]);
      for (const end of ends) {
        const squiggle = diags.some((d) => start >= d.column - 1 && start < d.end_column - 1);
        row += `<span style="color:${colourOf(t.scopes)}"${squiggle ? ' class="err"' : ''}>${esc(text.slice(start, end))}</span>`;
        start = end;
      }
    }
    let box = '';
    if (diags.length > 0 && !shownBox) {
      shownBox = true;
      const d = diags[0];
      const fix = d.fixes.length > 0 ? `<div class="fix">Quick Fix… Replace \`${esc(text.slice(d.column - 1, d.end_column - 1))}\` with \`${esc(d.fixes[0].replace)}\`</div>` : '';
      box = `<div class="hover" style="left:${60 + (d.column - 1) * 8.43}px"><div>${esc(d.message)} <span class="code">lead(${d.code})</span></div>` +
        `${d.fixes.map((f) => `<div class="help">${esc(f.message)}</div>`).join('')}${fix}</div>`;
    }
    html += `<div class="line"><span class="gutter">${n}</span>${row || ' '}${box}</div>`;
  }
  const page = `<!doctype html><meta charset="utf-8"><style>
body { margin: 0; background: #1E1E1E; font: 14px/20px "DejaVu Sans Mono", monospace; }
.tab { background: #252526; color: #CCCCCC; font: 13px sans-serif; padding: 8px 16px; border-bottom: 1px solid #333; }
.line { white-space: pre; height: 20px; position: relative; }
.gutter { display: inline-block; width: 40px; text-align: right; padding-right: 20px; color: #858585; }
.err { text-decoration: underline wavy #F14C4C; text-underline-offset: 3px; }
.hover { position: absolute; top: 22px; z-index: 1; white-space: normal; background: #252526; border: 1px solid #454545; color: #CCCCCC; padding: 6px 10px;
  width: max-content; max-width: 640px; font: 13px sans-serif; margin: 2px 0 4px; box-shadow: 0 2px 8px #000; }
.hover .code, .hover .help { color: #9D9D9D; }
.hover .fix { color: #3794FF; margin-top: 6px; border-top: 1px solid #454545; padding-top: 4px; }
.status { position: fixed; bottom: 0; left: 0; right: 0; background: #007ACC; color: white; font: 12px sans-serif; padding: 3px 12px; }
</style><div class="tab">${esc(path.basename(file))} — Lead</div>${html}
<div class="status">Lead · ${report.diagnostics.length} problem(s) · lead lsp</div>`;
  const out = path.join(__dirname, '..', 'images');
  fs.mkdirSync(out, { recursive: true });
  const htmlFile = path.join(out, 'screenshot.html');
  fs.writeFileSync(htmlFile, page);
  execFileSync(process.env.CHROMIUM || 'chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
    `--screenshot=${path.join(out, 'screenshot.png')}`, '--window-size=980,560', htmlFile], { stdio: 'ignore' });
  fs.rmSync(htmlFile);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
