// @ts-check
'use strict';

const os = require('os');
const path = require('path');

/**
 * serverCommand returns how to start the language server from the
 * extension's settings: the lead binary (a name looked up on PATH, or a
 * path where a leading ~ is the home directory) run as `lead lsp`, with
 * one --standards flag per standards directory.
 *
 * @param {{ path?: string, standardsPath?: string[] }} settings
 * @returns {{ command: string, args: string[] }}
 */
function serverCommand(settings) {
  let command = (settings.path || '').trim() || 'lead';
  if (command === '~' || command.startsWith('~/') || command.startsWith('~\\')) {
    command = path.join(os.homedir(), command.slice(1));
  }
  const args = ['lsp'];
  for (const dir of settings.standardsPath || []) {
    if (dir.trim() !== '') {
      args.push('--standards', dir.trim());
    }
  }
  return { command, args };
}

module.exports = { serverCommand };
