// Asks the subcell binary, directly over JSON-RPC, whether it can run a
// session on another Python (`session/open` with `python`, issue 12): the
// steps that need it are skipped, saying why, until it can.

'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');

const extension = path.resolve(__dirname, '..', '..');

/** Resolves { ok, version?, reason } for `session/open` with `python`. */
async function runsPython(binary, python) {
  const rpc = require(require.resolve('vscode-jsonrpc/node', { paths: [extension] }));
  const proc = spawn(binary, ['serve', '--log-level', 'off'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const connection = rpc.createMessageConnection(new rpc.StreamMessageReader(proc.stdout), new rpc.StreamMessageWriter(proc.stdin));
  connection.onError(() => undefined);
  connection.listen();
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  try {
    await connection.sendRequest('initialize', {});
    const opened = await connection.sendRequest('session/open', { python });
    const version = opened.python?.version;
    if (version && opened.python.executable.startsWith(path.dirname(python))) return { ok: true, version };
    return { ok: false, reason: `session/open with python: "${python}" answered ${JSON.stringify(opened)}, without that Python` };
  } catch (err) {
    return { ok: false, reason: `session/open with python: "${python}" failed: ${err.message}` };
  } finally {
    clearTimeout(timer);
    await connection.sendRequest('shutdown').catch(() => undefined);
    connection.sendNotification('exit').catch?.(() => undefined);
    proc.kill('SIGKILL');
    connection.dispose();
  }
}

module.exports = { runsPython };
