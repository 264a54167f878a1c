// What the inline view, the hover and the full output view show, with the
// caps that keep huge output from freezing the editor.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CellRun } from '../src/core/cellRun';
import { defaultLimits, fullOutput, inlineSummary, preview } from '../src/core/outputShaping';
import { PythonError } from '../src/core/protocol';

function ran(output: string, result: { value?: string; error?: PythonError } = {}): CellRun {
  const run = new CellRun({ id: 'c', code: '', region: { firstLine: 4, lineCount: 2 }, title: 'demo' });
  run.started(7);
  run.write('stdout', output);
  run.finish({ executionCount: 7, durationMs: 1.5, value: result.value ? { 'text/plain': result.value } : null, error: result.error ?? null });
  return run;
}

test('print("x" * 100000): the inline text and the hover are capped, the full view has it all', () => {
  const run = ran('x'.repeat(100_000) + '\n');
  const inline = inlineSummary(run);
  assert.ok(inline.text.length <= defaultLimits.inlineChars, `inline is ${inline.text.length} chars`);
  assert.match(inline.text, /^✓ \[7\] x+… \(\+[\d,]+ chars\)$/);
  const hover = preview(run);
  assert.ok(hover.lines.every((l) => l.length <= defaultLimits.previewLineChars));
  assert.equal(hover.clipped, true);
  assert.ok(fullOutput(run, { documentName: 'demo.py' }).includes('x'.repeat(100_000)));
});

test('a flood of lines: inline shows the last line and a count, the hover the tail', () => {
  const lines = Array.from({ length: 50_000 }, (_, i) => `row ${i}`).join('\n') + '\n';
  const run = ran(lines);
  assert.equal(inlineSummary(run).text, '✓ [7] row 49999  (+49,999 lines)');
  const hover = preview(run);
  assert.equal(hover.lines.length, defaultLimits.previewLines);
  assert.equal(hover.hiddenLines, 50_000 - defaultLimits.previewLines);
  assert.equal(hover.lines[hover.lines.length - 1], 'row 49999');
});

test('output past the scrollback is dropped and the full view says so', () => {
  const run = new CellRun({ id: 'c', code: '', maxOutputChars: 1000 });
  run.started(1);
  for (let i = 0; i < 1000; i++) run.write('stdout', `line ${i}\n`);
  run.finish({ executionCount: 1, durationMs: 3, value: null, error: null });
  const text = fullOutput(run, { documentName: 'demo.py' });
  assert.match(text, /\[… [\d,]+ earlier lines dropped/);
  assert.match(text, /line 999\n$/);
  assert.ok(text.length < 1500);
});

test('a value: its first line inline, all of it in the full view', () => {
  const run = ran('', { value: "{'a': 1,\n 'b': 2}" });
  assert.equal(inlineSummary(run).text, "✓ [7] → {'a': 1, …");
  assert.ok(fullOutput(run, { documentName: 'demo.py' }).includes("Out[7]: {'a': 1,\n 'b': 2}"));
});

test('an error: type and message inline, the traceback in the full view', () => {
  const error: PythonError = {
    type: 'ValueError',
    message: 'bad',
    traceback: 'Traceback (most recent call last):\n  File "<cell 7>", line 1, in <module>\nValueError: bad\n',
    frames: [],
  };
  const run = ran('before\n', { error });
  assert.deepEqual(inlineSummary(run), { text: '✗ [7] ValueError: bad', tone: 'error' });
  const text = fullOutput(run, { documentName: 'demo.py', traceback: error.traceback.replace('<cell 7>', 'demo.py') });
  assert.equal(text, '# demo.py · line 5 · demo · In [7] · failed after 2 ms\n\nbefore\nTraceback (most recent call last):\n  File "demo.py", line 1, in <module>\nValueError: bad\n');
});

test('ANSI colours never reach the inline text', () => {
  const run = ran('\x1b[1;32mgreen\x1b[0m\n');
  assert.equal(inlineSummary(run).text, '✓ [7] green');
});

test('the core modules import no vscode, so they run under plain node', () => {
  const core = path.resolve(__dirname, '..', '..', 'src', 'core');
  for (const file of fs.readdirSync(core)) {
    const source = fs.readFileSync(path.join(core, file), 'utf8');
    assert.ok(!/from 'vscode'|require\('vscode'\)/.test(source), `${file} imports vscode`);
  }
});
