// Copies the repository's examples/*.lead into test/testdata/examples/ (a testdata directory, which lead check and the language server skip), where the
// grammar's snapshot tests run over them: a changed example shows as a
// changed snapshot (npm run update-snapshots accepts it).
'use strict';

const fs = require('fs');
const path = require('path');

const from = path.join(__dirname, '..', '..', '..', 'examples');
const to = path.join(__dirname, 'testdata', 'examples');
fs.mkdirSync(to, { recursive: true });
const examples = fs.readdirSync(from).filter((f) => f.endsWith('.lead'));
if (examples.length === 0) {
  throw new Error(`no .lead files in ${from}`);
}
for (const f of fs.readdirSync(to)) {
  if (f.endsWith('.lead') && !examples.includes(f)) {
    fs.rmSync(path.join(to, f));
    fs.rmSync(path.join(to, f + '.snap'), { force: true });
  }
}
for (const f of examples) {
  fs.copyFileSync(path.join(from, f), path.join(to, f));
}
