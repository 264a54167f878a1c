// A `# %%` document run against the real server, the way the extension runs
// it: what each cell shows inline, and where its errors point.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseCells, runnable } from '../src/core/cells';
import { cellToRun, DocumentSession } from '../src/core/documentSession';
import { inlineSummary } from '../src/core/outputShaping';
import { lineEditOf } from '../src/core/runHistory';
import { ServerLoss } from '../src/core/serverSupervisor';
import { once, readFixture, supervisor, until } from './helpers';

const demo = readFixture('demo.py');
const cells = runnable(parseCells(demo));
const byTitle = (title: string) => cells.find((c) => c.title === title)!;

function session(stopOnError: boolean) {
  const sup = supervisor();
  const doc = new DocumentSession({ supervisor: sup, name: 'demo.py', stopOnError });
  return { sup, doc };
}

test('running every cell shows what a notebook would', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const { runs, done } = doc.run(cells.map(cellToRun));
  assert.ok(runs.every((r) => inlineSummary(r).text === '… queued'), 'all cells show as queued at once');
  await done;
  const inline = runs.map((r) => inlineSummary(r).text);
  // A cell with neither output nor value shows how long it took.
  assert.match(inline[2], /^✓ \[3\] \d+(\.\d+)? m?s$/);
  assert.deepEqual(inline.slice(0, 2), ['✓ [1] tick 2  (+2 lines)', '✓ [2] → 42']);
  assert.deepEqual(inline.slice(3), [
    '✗ [4] ZeroDivisionError: division by zero',
    '✗ [5] SyntaxError: invalid syntax',
    '✓ [6] progress 100%',
    '✓ [7] → False', // the [reset] cell ran in a fresh namespace
  ]);
  assert.equal(runs[5].output.text(), 'progress 100%\n', 'the progress bar stayed one line');
});

test('an error in a function from another cell maps to both cells\' lines', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([byTitle('a helper that fails when it is called'), byTitle('calls the helper from another cell')].map(cellToRun));
  await done;
  const mapped = doc.mapError(runs[1])!;
  const lines = demo.split('\n');
  assert.equal(mapped.summary, 'ZeroDivisionError: division by zero');
  assert.equal(lines[mapped.primary!.position.line], '    return a / b', 'the diagnostic sits on the line that raised');
  assert.deepEqual(mapped.related.map((r) => lines[r.position.line]), ['divide(1, 0)']);
  assert.equal(mapped.related[0].label, 'cell code: divide(1, 0)');
});

test('a syntax error points at its line and column', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([cellToRun(byTitle('a syntax error'))]);
  await done;
  const position = doc.mapError(runs[0])!.primary!.position;
  const line = demo.split('\n')[position.line];
  assert.equal(line, 'def broken(:');
  assert.equal(line[position.character!], ':');
});

test('errors still point at the right line after lines are inserted above', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([byTitle('a helper that fails when it is called'), byTitle('calls the helper from another cell')].map(cellToRun));
  await done;
  const before = doc.mapError(runs[1])!.primary!.position.line;
  // The user types two lines at the top of the file.
  doc.history.applyEdit(lineEditOf({ startLine: 0, startCharacter: 0, endLine: 0, endCharacter: 0, text: 'import os\nimport re\n' }));
  assert.equal(doc.mapError(runs[1])!.primary!.position.line, before + 2);
  // Typing inside a line moves nothing.
  doc.history.applyEdit(lineEditOf({ startLine: 5, startCharacter: 3, endLine: 5, endCharacter: 3, text: 'abc' }));
  assert.equal(doc.mapError(runs[1])!.primary!.position.line, before + 2);
});

test('stop on error: cells after a failing one are not run', async (t) => {
  const { sup, doc } = session(true);
  t.after(() => sup.dispose());
  const { runs, done } = doc.run(cells.map(cellToRun));
  await done;
  assert.deepEqual(runs.map((r) => r.state), ['succeeded', 'succeeded', 'succeeded', 'failed', 'cancelled', 'cancelled', 'cancelled']);
  assert.equal(inlineSummary(runs[4]).text, '⊘ not run: an earlier cell raised ZeroDivisionError');
});

test('output streams into the run while it is still running', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([cellToRun(byTitle('streaming output'))]);
  const run = await until(runs[0], (r) => r.output.text().includes('tick 0'));
  assert.equal(run.state, 'running');
  assert.match(inlineSummary(run).text, /^▸ \[1\] tick 0/);
  await done;
  assert.equal(runs[0].output.text(), 'tick 0\ntick 1\ntick 2\n');
});

test('interrupt stops the running cell and drops the queued ones', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([{ code: 'while True:\n    pass\n' }, { code: 'print("never")\n' }]);
  await until(runs[0], (r) => r.state === 'running');
  await doc.interrupt();
  await done;
  assert.equal(runs[0].error?.type, 'KeyboardInterrupt');
  assert.equal(inlineSummary(runs[0]).text, '✗ [1] KeyboardInterrupt');
  assert.equal(runs[1].state, 'cancelled');
  assert.equal(inlineSummary(runs[1]).text, '⊘ not run: interrupted');
});

test('re-running a cell replaces its previous run in the views', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const first = doc.run([cellToRun(byTitle('a value'))]);
  await first.done;
  const second = doc.run([cellToRun(byTitle('a value'))]);
  await second.done;
  assert.equal(first.runs[0].latest, second.runs[0]);
  assert.deepEqual(doc.history.current(), [second.runs[0]]);
  assert.equal(inlineSummary(second.runs[0]).text, '✓ [2] → 42');
});

test('reset gives a fresh namespace in the same session', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  await doc.run([cellToRun(byTitle('a value'))]).done;
  const id = doc.sessionId;
  const reset = await doc.reset();
  assert.ok(reset.ok);
  const { runs, done } = doc.run([{ code: 'x\n' }]);
  await done;
  assert.equal(doc.sessionId, id);
  assert.equal(inlineSummary(runs[0]).text, "✗ [2] NameError: name 'x' is not defined", 'a reset takes no execution count');
});

test('closing the document closes its session on the server', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  await doc.run([{ code: '1\n' }]).done;
  const listed = await sup.list();
  assert.ok(listed.ok && listed.value.sessions.some((s) => s.name === 'demo.py'));
  await doc.close();
  const after = await sup.list();
  assert.ok(after.ok && !after.value.sessions.some((s) => s.name === 'demo.py'));
});

test('a server killed mid-run: the run is lost, the loss is reported, the next run gets a new session', async (t) => {
  const { sup, doc } = session(false);
  t.after(() => sup.dispose());
  const lost = once<ServerLoss>((l) => sup.onLoss(l));
  const { runs, done } = doc.run([{ code: 'x = 1\nwhile True:\n    pass\n' }, { code: 'print("queued")\n' }]);
  await until(runs[0], (r) => r.state === 'running');
  process.kill(sup.current!.pid!, 'SIGKILL');
  const loss = await lost;
  await done;
  assert.deepEqual(loss.lostSessions.map((s) => s.name), ['demo.py']);
  assert.deepEqual(runs.map((r) => r.state), ['lost', 'lost']);
  assert.equal(inlineSummary(runs[0]).text, '⚠ the subcell server exited before it answered');
  const again = doc.run([{ code: 'x\n' }]);
  await again.done;
  // A new session on the new server: the old variables are gone.
  assert.equal(inlineSummary(again.runs[0]).text, "✗ [1] NameError: name 'x' is not defined");
});

test('a server that cannot start: the first cell says why, the rest are not run', async (t) => {
  const sup = supervisor({ binary: '/nonexistent/subcell' });
  t.after(() => sup.dispose());
  const doc = new DocumentSession({ supervisor: sup, name: 'demo.py', stopOnError: true });
  const { runs, done } = doc.run([{ code: '1\n' }, { code: '2\n' }]);
  await done;
  assert.match(inlineSummary(runs[0]).text, /^⚠ cannot start \/nonexistent\/subcell: spawn \/nonexistent\/subcell ENOENT/);
  assert.equal(inlineSummary(runs[1]).text, '⊘ not run: the server did not start');
});
