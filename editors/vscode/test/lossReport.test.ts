// What the user is told when the server cannot start or dies.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeLoss, describeStartFailure } from '../src/core/lossReport';

test('a server that cannot start: the reason, and where subcell.serverPath goes', () => {
  const local = describeStartFailure('cannot start subcell: spawn subcell ENOENT');
  assert.equal(local, 'subcell: cannot start subcell: spawn subcell ENOENT. Set "subcell.serverPath" to the subcell binary in your User settings.');
  const remote = describeStartFailure('cannot start /opt/subcell: spawn /opt/subcell ENOENT\nmore', 'ssh-remote');
  assert.match(remote, /^subcell: cannot start \/opt\/subcell: spawn \/opt\/subcell ENOENT\. /);
  assert.match(remote, /User settings; the path is looked up on the machine that runs this window's extensions \(ssh-remote\)/);
  assert.match(remote, /Remote settings, when they set it, win over User settings\.$/);
});

test('a server stopped on purpose with no session open is not worth a message', () => {
  const exit = { code: 0, signal: null, expected: true, stderrTail: [] };
  assert.equal(describeLoss({ exit, generation: 1, lostSessions: [], restarting: false }), undefined);
  const killed = { code: null, signal: 'SIGKILL' as const, expected: false, stderrTail: [] };
  assert.equal(
    describeLoss({ exit: killed, generation: 1, lostSessions: [{ session: 's1', name: 'a.py' }], restarting: true }),
    'The subcell server stopped unexpectedly (killed by SIGKILL). Lost sessions: a.py; their variables are gone and they start fresh on the next run. It was restarted.',
  );
});
