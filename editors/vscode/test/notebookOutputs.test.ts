// The notebook output layout against the real server: streams appended while
// the cell runs, progress bars rewritten in place, values and errors last.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { bundleItems } from '../src/core/mime';
import { applyOps, NotebookOutputPlan, problemOutput } from '../src/core/notebookOutputs';
import { supervisor } from './helpers';

test('stream writes share an output until another stream or a display comes', () => {
  const plan = new NotebookOutputPlan();
  plan.write('stdout', 'a\n');
  plan.write('stdout', 'b\n');
  plan.write('stderr', 'warn\n');
  plan.display({ 'text/plain': '<Figure>' });
  plan.write('stdout', 'c\n');
  const shown = applyOps([], plan.flush());
  assert.deepEqual(shown, [
    { kind: 'stdout', text: 'a\nb\n' },
    { kind: 'stderr', text: 'warn\n' },
    { kind: 'display', text: '<Figure>' },
    { kind: 'stdout', text: 'c\n' },
  ]);
});

test('a progress bar is replaced in place, plain output is appended', () => {
  const plan = new NotebookOutputPlan();
  plan.write('stdout', 'epoch 1\n 10%');
  const shown = applyOps([], plan.flush());
  plan.write('stdout', '\r 90%');
  const rewrite = plan.flush();
  assert.deepEqual(rewrite.map((op) => op.kind), ['replace-stream']);
  plan.write('stdout', '\rdone\n');
  plan.write('stdout', 'epoch 2\n');
  applyOps(shown, rewrite);
  applyOps(shown, plan.flush());
  assert.deepEqual(shown, [{ kind: 'stdout', text: 'epoch 1\ndone\nepoch 2\n' }]);
  plan.write('stdout', 'more\n');
  assert.deepEqual(plan.flush().map((op) => op.kind), ['append-stream']);
});

test('colours are kept for the notebook renderer', () => {
  const plan = new NotebookOutputPlan();
  plan.write('stdout', '\x1b[31mred\x1b[0m\n');
  assert.deepEqual(applyOps([], plan.flush()), [{ kind: 'stdout', text: '\x1b[31mred\x1b[0m\n' }]);
});

test('a MIME bundle becomes items, richest first, images decoded', () => {
  const items = bundleItems({ 'text/plain': 'Money(2.50)', 'text/html': '<b>2.50 €</b>', 'image/png': Buffer.from('png-bytes').toString('base64') });
  assert.deepEqual(items.map((i) => i.mime), ['text/html', 'image/png', 'text/plain']);
  assert.equal(Buffer.from(items[1].data).toString(), 'png-bytes');
});

test('with the real server: output shows before the result, then the rich value and the display', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  const opened = await sup.openSession({ name: 'plan.ipynb' });
  assert.ok(opened.ok);
  const plan = new NotebookOutputPlan();
  const shown: Array<{ kind: string; text: string }> = [];
  let firstFlush: Array<{ kind: string; text: string }> | undefined;
  const code = [
    'import time',
    'class Money:',
    '    def __init__(self, cents): self.cents = cents',
    '    def __repr__(self): return f"Money({self.cents / 100:.2f})"',
    '    def _repr_html_(self): return f"<b>{self.cents / 100:.2f} €</b>"',
    'print("working", flush=True)',
    'time.sleep(0.2)',
    'display(Money(1999))',
    'Money(250)',
  ].join('\n');
  const sink = {
    started: (n: number) => plan.started(n),
    write: (stream: 'stdout' | 'stderr', text: string) => {
      plan.write(stream, text);
      // What the notebook shows at the first output, while the cell runs.
      if (!firstFlush) firstFlush = applyOps(shown, plan.flush()).map((o) => ({ ...o }));
    },
    display: (data: { 'text/plain': string }) => plan.display(data),
    clear: (wait: boolean) => plan.clear(wait),
  };
  const result = await sup.run(opened.value, code, 'money', sink);
  assert.ok(result.ok);
  assert.deepEqual(firstFlush, [{ kind: 'stdout', text: 'working\n' }]);
  plan.result(result.value);
  const ops = plan.flush();
  applyOps(shown, ops);
  assert.deepEqual(shown, [
    { kind: 'stdout', text: 'working\n' },
    { kind: 'display', text: 'Money(19.99)' },
    { kind: 'result', text: 'Money(2.50)' },
  ]);
  const value = ops.find((op) => op.kind === 'add-display' && op.result);
  assert.ok(value && value.kind === 'add-display' && value.data['text/html'] === '<b>2.50 €</b>');
});

test('a cell that got no result shows one sentence: no name, no stack', () => {
  const gone = problemOutput({ kind: 'server-gone', message: 'the subcell server exited before it answered' });
  assert.deepEqual(gone, {
    name: '',
    message: 'The subcell server stopped before this cell finished: the session and its variables are gone. Run the cell again to start a fresh session.',
    stack: '',
  });
  const spawn = problemOutput({ kind: 'spawn-failed', message: 'cannot start subcell: spawn subcell ENOENT\nstderr line' });
  assert.equal(spawn.message, 'The subcell server did not start: cannot start subcell: spawn subcell ENOENT');
  assert.equal(spawn.stack, '');
});
