'use strict';

const test = require('node:test');
const assert = require('node:assert');
const os = require('os');
const path = require('path');
const fs = require('fs');
const { serverCommand } = require('../lib/server');

test('the default is lead on PATH', () => {
  assert.deepStrictEqual(serverCommand({}), { command: 'lead', args: ['lsp'] });
  assert.deepStrictEqual(serverCommand({ path: '  ' }), { command: 'lead', args: ['lsp'] });
});

test('a path with ~ is in the home directory', () => {
  assert.strictEqual(serverCommand({ path: '~/go/bin/lead' }).command, path.join(os.homedir(), 'go/bin/lead'));
  assert.strictEqual(serverCommand({ path: '/opt/lead/bin/lead' }).command, '/opt/lead/bin/lead');
});

test('standards directories become --standards flags', () => {
  assert.deepStrictEqual(serverCommand({ standardsPath: ['std', '', ' /shared/standards '] }).args,
    ['lsp', '--standards', 'std', '--standards', '/shared/standards']);
});

test('package.json declares the language, grammar, snippets and settings', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  const c = pkg.contributes;
  assert.strictEqual(c.languages[0].id, 'lead');
  assert.deepStrictEqual(c.languages[0].extensions, ['.lead']);
  assert.strictEqual(c.grammars[0].scopeName, 'source.lead');
  assert.ok(c.configuration.properties['lead.path']);
  for (const f of [c.grammars[0].path, c.snippets[0].path, c.languages[0].configuration]) {
    JSON.parse(fs.readFileSync(path.join(__dirname, '..', f), 'utf8'));
  }
});
