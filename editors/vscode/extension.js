// @ts-check
'use strict';

// The Lead extension: the TextMate grammar, language configuration and
// snippets are declared in package.json; this file starts `lead lsp` and
// connects VS Code to it, restarting it when its settings change.

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
const { serverCommand } = require('./lib/server');

/** @type {LanguageClient | undefined} */
let client;

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('lead.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('lead.path') || e.affectsConfiguration('lead.standardsPath')) {
        restart();
      }
    }),
  );
  await start();
}

async function start() {
  const config = vscode.workspace.getConfiguration('lead');
  const { command, args } = serverCommand({
    path: config.get('path'),
    standardsPath: config.get('standardsPath'),
  });
  client = new LanguageClient(
    'lead',
    'Lead language server',
    { command, args, transport: TransportKind.stdio },
    {
      documentSelector: [
        { scheme: 'file', language: 'lead' },
        { scheme: 'untitled', language: 'lead' },
      ],
      // Changes on disk to .lead files the editor does not have open
      // (a git checkout, another tool) reach the server too.
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.lead') },
    },
  );
  try {
    await client.start();
  } catch (err) {
    const choice = await vscode.window.showErrorMessage(
      `Lead: cannot start the language server "${command} ${args.join(' ')}": ${err}. ` +
        'Install lead (go install ./cmd/lead in the Lead repository) or set "lead.path".',
      'Open Settings',
    );
    if (choice === 'Open Settings') {
      vscode.commands.executeCommand('workbench.action.openSettings', 'lead.path');
    }
  }
}

async function restart() {
  if (client) {
    await client.stop().catch(() => {});
    client = undefined;
  }
  await start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
