// Where a document's session runs, against the real server: an `auto`
// session that moves to a process, the `restartInProcess` suggestion and
// its restart, a crashed process session, limits.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DocumentSession, SessionEvent } from '../src/core/documentSession';
import { fullOutput, inlineSummary } from '../src/core/outputShaping';
import { PlacementDefaults, SessionPlacement } from '../src/core/sessionPlacement';
import { describeChange, describeCrash, describeUncleanClose, placementLabel } from '../src/core/sessionReport';
import { supervisor, until } from './helpers';

function session(placement: PlacementDefaults) {
  const sup = supervisor();
  const doc = new DocumentSession({ supervisor: sup, name: 'plots.ipynb', placement: () => placement });
  const events: SessionEvent[] = [];
  doc.onSessionEvent((e) => events.push(e));
  return { sup, doc, events };
}

test('an auto session importing a module that needs a process moves there before the cell runs', async (t) => {
  const { sup, doc, events } = session({ isolation: 'auto' });
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([{ code: 'import _testsinglephase, os\nos.getpid()' }]);
  await done;
  const changed = events.find((e) => e.kind === 'changed');
  assert.ok(changed && changed.kind === 'changed');
  assert.equal(changed.change.isolation, 'process');
  assert.deepEqual(changed.change.modules, ['_testsinglephase']);
  assert.equal(describeChange('plots.ipynb', changed.change), 'subcell: plots.ipynb moved to a process because it imports _testsinglephase');
  // The cell ran in the worker: its pid is the one session/changed named.
  assert.equal(runs[0].value?.['text/plain'], String(changed.change.pid));
  assert.equal(doc.where?.isolation, 'process');
  assert.equal(doc.where?.pid, changed.change.pid);
  assert.match(placementLabel(doc.where), /^subcell: (\d+\.\d+ · )?process$/);
});

test('a session holding variables gets the suggestion, marked on the import line; restarting in a process makes the import work', async (t) => {
  const { sup, doc } = session({ isolation: 'auto' });
  t.after(() => sup.dispose());
  await doc.run([{ code: 'x = 1', region: { firstLine: 1, lineCount: 1 } }]).done;
  const code = 'import os\nimport _testsinglephase\n_testsinglephase.__name__';
  const failed = doc.run([{ code, region: { firstLine: 4, lineCount: 3 } }]);
  await failed.done;
  const run = failed.runs[0];
  assert.equal(run.error?.type, 'ImportError');
  assert.equal(run.error?.suggestion?.action, 'restartInProcess');
  assert.deepEqual(run.error?.suggestion?.modules, ['_testsinglephase']);
  const standing = doc.standingErrors();
  assert.equal(standing.length, 1);
  assert.equal(standing[0].mapped.primary?.position.line, 5, 'on `import _testsinglephase`, the second line of the cell at line 4');

  const restarted = await doc.restart('process');
  assert.ok(restarted.ok && restarted.value?.isolation === 'process');
  const again = doc.run([{ code, region: { firstLine: 4, lineCount: 3 } }]);
  await again.done;
  assert.equal(again.runs[0].state, 'succeeded');
  assert.equal(inlineSummary(again.runs[0]).text, "✓ [1] → '_testsinglephase'", 'a fresh session counts from 1');
  assert.equal(doc.placement.isolation, 'process', 'the choice is kept for the next session');
});

test('a process session that crashes: the run says so, the report has the stderr tail, the next run opens a fresh session', async (t) => {
  const { sup, doc, events } = session({ isolation: 'process' });
  t.after(() => sup.dispose());
  await doc.run([{ code: 'x = 1' }]).done;
  const { runs, done } = doc.run([{ code: 'import os\nos.abort()' }, { code: 'print("never")' }]);
  await done;
  assert.equal(runs[0].state, 'lost');
  assert.equal(runs[0].crash?.signal, 'SIGABRT');
  assert.match(inlineSummary(runs[0]).text, /^⚠ the session crashed: .*SIGABRT/);
  assert.match(fullOutput(runs[0], { documentName: 'plots.ipynb' }), /standard error:\n[\s\S]*Fatal Python error: Aborted/);
  assert.equal(inlineSummary(runs[1]).text, '⚠ not run: the session crashed', 'stopOnError is off, but the session is gone');
  const crashed = events.find((e) => e.kind === 'crashed');
  assert.ok(crashed && crashed.kind === 'crashed');
  assert.match(describeCrash('plots.ipynb', crashed.crash), /^subcell: the session of plots\.ipynb crashed \(.*SIGABRT.*\): its variables are gone/);
  assert.ok(events.some((e) => e.kind === 'ended'));
  const next = doc.run([{ code: "'x' in globals()" }]);
  await next.done;
  assert.equal(next.runs[0].value?.['text/plain'], 'False', 'a fresh session');
});

test('cellTimeoutSeconds interrupts a cell that runs too long', async (t) => {
  const { sup, doc } = session({ isolation: 'interpreter', limits: { cellTimeoutSeconds: 0.5 } });
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([{ code: 'import time\ntime.sleep(30)' }]);
  await done;
  assert.equal(runs[0].error?.type, 'KeyboardInterrupt');
  assert.match(runs[0].error!.message, /time limit/);
});

test('a memory limit is sent only where the server takes one: not to interpreter sessions', () => {
  const limits = { memoryMB: 512, cellTimeoutSeconds: 60 };
  const interpreter = new SessionPlacement(() => ({ isolation: 'interpreter', limits }));
  assert.deepEqual(interpreter.openParams({ name: 'a.py' }), { name: 'a.py', isolation: 'interpreter', limits: { cellTimeoutSeconds: 60 } });
  const auto = new SessionPlacement(() => ({ isolation: 'auto', limits, python: '/usr/bin/python3' }));
  assert.deepEqual(auto.openParams({ name: 'a.py' }), { name: 'a.py', isolation: 'auto', limits, python: '/usr/bin/python3' });
  auto.chooseIsolation('interpreter');
  auto.choosePython('/opt/py/bin/python');
  assert.deepEqual(auto.openParams({}), { isolation: 'interpreter', limits: { cellTimeoutSeconds: 60 }, python: '/opt/py/bin/python' });
});

test('closing a session stuck in C says it was abandoned', async (t) => {
  const sup = supervisor({ args: ['--log-level', 'off', '--close-grace-ms', '200'] });
  t.after(() => sup.dispose());
  const doc = new DocumentSession({ supervisor: sup, name: 'stuck.py' });
  const events: SessionEvent[] = [];
  doc.onSessionEvent((e) => events.push(e));
  const { runs } = doc.run([{ code: 'import re\nprint("matching", flush=True)\nre.match(r"(a+)+$", "a" * 40 + "b")' }]);
  await until(runs[0], (r) => r.output.text().includes('matching'));
  await doc.close();
  assert.deepEqual(events.filter((e) => e.kind === 'unclean-close'), [{ kind: 'unclean-close', how: 'abandoned' }]);
  assert.equal(describeUncleanClose('stuck.py', 'abandoned'), 'subcell: the session of stuck.py did not end cleanly: a cell stuck in C would not stop in time, so its interpreter was abandoned (its output goes to the server log).');
});
