// The session client against the real `subcell` binary.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CellRun } from '../src/core/cellRun';
import { ServerConnection } from '../src/core/serverConnection';
import { describeLoss } from '../src/core/lossReport';
import { ServerLoss } from '../src/core/serverSupervisor';
import { fixtures, once, supervisor, until } from './helpers';

test('the server starts on demand and says what it is', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  assert.equal(sup.current, undefined, 'nothing runs before it is needed');
  const server = await sup.connection();
  assert.ok(server.ok);
  assert.equal(server.value.info.serverInfo.name, 'subcell');
  assert.match(server.value.info.python.version, /^3\.\d+\.\d+/);
});

test('a binary that does not exist is an error value that names it', async () => {
  const started = await ServerConnection.start({ binary: '/nonexistent/subcell' });
  assert.equal(started.ok, false);
  assert.ok(!started.ok && started.failure.kind === 'spawn-failed');
  assert.ok(!started.ok && started.failure.message.includes('/nonexistent/subcell'));
});

test('a program that is not a subcell server fails with what it printed', async () => {
  const started = await ServerConnection.start({ binary: 'cat' }); // runs `cat serve`
  assert.ok(!started.ok && started.failure.kind === 'spawn-failed');
  assert.ok(!started.ok && /cat did not initialize[\s\S]*serve: No such file/.test(started.failure.message), !started.ok ? started.failure.message : '');
});

test('output streams in while the cell runs, before its result', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  const opened = await sup.openSession({ name: 'stream.py' });
  assert.ok(opened.ok);
  const run = new CellRun({ id: 'stream', code: '' });
  let resultArrived = false;
  const result = sup
    .run(opened.value, 'import time\nprint("first", flush=True)\ntime.sleep(0.3)\nprint("second")\n"done"', 'stream', run)
    .then((r) => ((resultArrived = true), r));
  await until(run, (r) => r.output.text().includes('first'));
  assert.equal(resultArrived, false, 'the first line is shown while the cell still runs');
  assert.equal(run.state, 'running');
  const final = await result;
  assert.ok(final.ok);
  run.finish(final.value);
  assert.equal(run.output.text(), 'first\nsecond\n');
  assert.deepEqual(run.value, { 'text/plain': "'done'" });
});

test('interrupting `while True: pass` ends the cell with KeyboardInterrupt', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  const opened = await sup.openSession({ name: 'loop.py' });
  assert.ok(opened.ok);
  const run = new CellRun({ id: 'loop', code: '' });
  const result = sup.run(opened.value, 'while True:\n    pass\n', 'loop', run);
  await until(run, (r) => r.state === 'running');
  const interrupted = await sup.interrupt(opened.value);
  assert.ok(interrupted.ok && interrupted.value.interrupted);
  const final = await result;
  assert.ok(final.ok);
  assert.equal(final.value.error?.type, 'KeyboardInterrupt');
  // The session survives and keeps its state.
  const after = await sup.run(opened.value, '1 + 1', 'after', new CellRun({ id: 'after', code: '' }));
  assert.ok(after.ok);
  assert.deepEqual(after.value.value, { 'text/plain': '2' });
});

test('reset empties the namespace but keeps the session', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  const opened = await sup.openSession({ name: 'reset.py' });
  assert.ok(opened.ok);
  const sink = () => new CellRun({ id: 'x', code: '' });
  await sup.run(opened.value, 'x = 1', 'a', sink());
  const reset = await sup.reset(opened.value);
  assert.ok(reset.ok);
  assert.ok(reset.value.removedNames >= 1);
  const after = await sup.run(opened.value, 'x', 'b', sink());
  assert.ok(after.ok);
  assert.equal(after.value.error?.type, 'NameError');
});

test('a killed server is restarted and the sessions it took down are reported', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  const a = await sup.openSession({ name: 'analysis.py' });
  const b = await sup.openSession({ name: 'plots.ipynb' });
  assert.ok(a.ok && b.ok);
  const first = sup.current!;
  const lost = once<ServerLoss>((l) => sup.onLoss(l));
  const restarted = once<unknown>((l) => sup.onStart(l));
  process.kill(first.pid!, 'SIGKILL'); // as if it crashed
  const loss = await lost;
  assert.deepEqual(loss.lostSessions.map((s) => s.name).sort(), ['analysis.py', 'plots.ipynb']);
  assert.equal(loss.exit.signal, 'SIGKILL');
  assert.equal(loss.restarting, true);
  assert.equal(
    describeLoss(loss),
    'The subcell server stopped unexpectedly (killed by SIGKILL). Lost sessions: analysis.py, plots.ipynb; ' +
      'their variables are gone and they start fresh on the next run. It was restarted.',
    'the warning the user reads',
  );
  await restarted;
  assert.ok(sup.current && sup.current.pid !== first.pid, 'a new process runs');
  assert.equal(sup.isLive(a.value), false, 'old session ids are not reused');
  const again = await sup.openSession({ name: 'analysis.py' });
  assert.ok(again.ok);
  const run = await sup.run(again.value, '6 * 7', 'c', new CellRun({ id: 'c', code: '' }));
  assert.ok(run.ok);
  assert.deepEqual(run.value.value, { 'text/plain': '42' });
});

test('a request pending when the server dies settles as server-gone', async (t) => {
  const sup = supervisor({ autoRestart: false });
  t.after(() => sup.dispose());
  const opened = await sup.openSession({ name: 'dies.py' });
  assert.ok(opened.ok);
  const run = new CellRun({ id: 'slow', code: '' });
  const result = sup.run(opened.value, 'while True:\n    pass\n', 'slow', run);
  await until(run, (r) => r.state === 'running');
  process.kill(sup.current!.pid!, 'SIGKILL');
  const final = await result;
  assert.ok(!final.ok && final.failure.kind === 'server-gone');
});

test('dispose sends shutdown and exit: the server exits with status 0', async () => {
  const sup = supervisor();
  const server = await sup.connection();
  assert.ok(server.ok);
  const exited = server.value.whenExited();
  await sup.dispose();
  const exit = await exited;
  assert.equal(exit.code, 0);
  assert.equal(exit.expected, true);
  assert.ok(!(await sup.connection()).ok, 'nothing starts after dispose');
});

test('cells resolve relative paths against the server\'s working directory (the workspace)', async (t) => {
  const sup = supervisor({ cwd: fixtures });
  t.after(() => sup.dispose());
  const opened = await sup.openSession({ name: 'cwd.py' });
  assert.ok(opened.ok);
  const run = await sup.run(opened.value, "import os\nos.path.exists('demo.py')", 'cwd', new CellRun({ id: 'cwd', code: '' }));
  assert.ok(run.ok);
  assert.deepEqual(run.value.value, { 'text/plain': 'True' });
});
