// The Jupyter features of issue 10 in the core modules, against the real
// server: displays that update and clear_output in a `# %%` document, chained
// errors mapped into it, late output under the cell that started the thread,
// and cell/input answered by the client.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CellRun } from '../src/core/cellRun';
import { DocumentSession } from '../src/core/documentSession';
import { hoverText } from '../src/core/codeQuery';
import { errorLines } from '../src/core/errorText';
import { fullOutput, inlineSummary } from '../src/core/outputShaping';
import { ErrorCode, InputParams } from '../src/core/protocol';
import { variableLine, VariablePages } from '../src/core/variablePages';
import { supervisor, until } from './helpers';

function session(options: Parameters<typeof supervisor>[0] = {}) {
  const sup = supervisor(options);
  const doc = new DocumentSession({ supervisor: sup, name: 'progress.py' });
  return { sup, doc };
}

test('a progress bar drawn with a display handle stays one line, updated in place', async (t) => {
  const { sup, doc } = session();
  t.after(() => sup.dispose());
  const code = 'h = display("0%", display_id=True)\nfor i in range(1, 6):\n    h.update(f"{i * 20}%")\nprint("done")';
  const { runs, done } = doc.run([{ code, region: { firstLine: 1, lineCount: 4 } }]);
  await done;
  assert.equal(runs[0].output.text(), "'100%'\ndone\n");
  assert.equal(inlineSummary(runs[0]).text, '✓ [1] done  (+1 lines)');
});

test('clear_output(wait=True) in a loop keeps one line, the latest', async (t) => {
  const { sup, doc } = session();
  t.after(() => sup.dispose());
  const code = 'for i in range(50):\n    clear_output(wait=True)\n    print(f"step {i}")';
  const { runs, done } = doc.run([{ code }]);
  const seen: number[] = [];
  runs[0].onChange((r) => seen.push(r.output.lineCount));
  await done;
  assert.equal(runs[0].output.text(), 'step 49\n');
  assert.ok(Math.max(...seen) <= 1, `never more than one line: ${Math.max(...seen)}`);
  assert.equal(inlineSummary(runs[0]).text, '✓ [1] step 49');
});

test('update_display from a later cell replaces the display an earlier cell showed', async (t) => {
  const { sup, doc } = session();
  t.after(() => sup.dispose());
  const first = doc.run([{ code: 'display("waiting", display_id="status")' }]);
  await first.done;
  const second = doc.run([{ code: 'update_display("ready", display_id="status")' }]);
  await second.done;
  assert.equal(first.runs[0].output.text(), "'ready'\n");
  assert.equal(second.runs[0].output.text(), '', 'the update adds nothing where it was called');
});

test('a chained error: marked where the outermost error was raised; its cause and notes are related', async (t) => {
  const { sup, doc } = session();
  t.after(() => sup.dispose());
  const code = 'try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    err = ValueError("bad ratio")\n    err.add_note("while loading data")\n    raise err from e';
  const { runs, done } = doc.run([{ code, region: { firstLine: 10, lineCount: 6 } }]);
  await done;
  const mapped = doc.mapError(runs[0])!;
  assert.equal(mapped.primary!.position.line, 15, 'the `raise err from e` line');
  assert.deepEqual(mapped.notes, ['while loading data']);
  assert.deepEqual(mapped.linked.map((p) => [p.position.line, p.label]), [[11, 'direct cause: ZeroDivisionError: division by zero']]);
  assert.deepEqual(errorLines(runs[0].error!), ['ValueError: bad ratio', '  note: while loading data', '  direct cause: ZeroDivisionError: division by zero']);
  const full = fullOutput(runs[0], { documentName: 'progress.py' });
  assert.match(full, /ZeroDivisionError: division by zero\n\nThe above exception was the direct cause of the following exception:/);
});

test('an ExceptionGroup lists its members', async (t) => {
  const { sup, doc } = session();
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([{ code: 'raise ExceptionGroup("many", [ValueError("a"), TypeError("b")])' }]);
  await done;
  assert.deepEqual(errorLines(runs[0].error!), ['ExceptionGroup: many (2 sub-exceptions)', '  1. ValueError: a', '  2. TypeError: b']);
});

test('output a thread writes after its cell finished lands under that cell, not the running one', async (t) => {
  const { sup, doc } = session();
  t.after(() => sup.dispose());
  const started = doc.run([{ code: 'import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.2), print("late line"))).start()' }]);
  await started.done;
  const next = doc.run([{ code: 'import time\ntime.sleep(1)\nprint("mine")' }]);
  await until(started.runs[0], (r) => r.output.text().includes('late line'));
  await next.done;
  assert.equal(started.runs[0].output.text(), 'late line\n');
  assert.equal(next.runs[0].output.text(), 'mine\n');
});

test('input() asks the client; the answer reaches the cell; a cancel interrupts it', async (t) => {
  const asked: InputParams[] = [];
  const answers = ['Ada', undefined];
  const { sup, doc } = session({ onInput: async (params) => (asked.push(params), answers.shift() === 'Ada' ? { text: 'Ada' } : undefined) });
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([{ code: 'name = input("name? ")\nf"hello {name}"' }, { code: 'import getpass\ngetpass.getpass("secret: ")' }]);
  await done;
  assert.deepEqual(asked.map((a) => [a.prompt, a.password]), [['name? ', false], ['secret: ', true]]);
  assert.equal(runs[0].value?.['text/plain'], "'hello Ada'");
  assert.equal(runs[1].error?.type, 'KeyboardInterrupt');
});

test('an input request the server withdraws (the cell was interrupted) cancels the answerer', async (t) => {
  let withdrawn!: () => void;
  const gone = new Promise<void>((resolve) => (withdrawn = resolve));
  const { sup, doc } = session({
    onInput: (_params, token) => new Promise((resolve) => token.onCancellationRequested(() => (withdrawn(), resolve(undefined)))),
  });
  t.after(() => sup.dispose());
  const { runs, done } = doc.run([{ code: 'input("waiting: ")' }]);
  await until(runs[0], (r: CellRun) => r.state === 'running');
  await doc.interrupt();
  await gone;
  await done;
  assert.equal(runs[0].error?.type, 'KeyboardInterrupt');
});

test('variables come a page at a time; cell/inspect answers while a cell runs', async (t) => {
  const { sup, doc } = session();
  t.after(() => sup.dispose());
  await doc.run([{ code: 'import json\nfor _k in range(450):\n    globals()[f"v{_k:03}"] = _k' }]).done;
  const running = doc.run([{ code: 'import time\ntime.sleep(2)' }]);
  await until(running.runs[0], (r) => r.state === 'running');
  const pages = new VariablePages((offset, limit) => sup.variables(doc.live!, offset, limit));
  assert.ok((await pages.reload()).ok);
  assert.equal(pages.variables.length, 200);
  assert.equal(pages.remaining, 250);
  await pages.more();
  await pages.more();
  assert.equal(pages.variables.length, 450);
  assert.deepEqual([pages.variables[0].name, pages.variables[449].name], ['v000', 'v449']);
  assert.equal(variableLine(pages.variables[7]), 'int = 7');
  const inspected = await sup.inspect(doc.live!, 'json.dumps', 10);
  assert.ok(inspected.ok);
  const text = hoverText(inspected.value)!;
  assert.match(text.heading, /^json\.dumps\(obj, \*, skipkeys=False/);
  assert.match(text.docstring!, /Serialize ``obj`` to a JSON formatted ``str``/);
  assert.equal(running.runs[0].state, 'running', 'answered while the cell still runs');
  await running.done;
});

test('a cell in one long C call: variables answer SessionBusy after 2 s, and the rows loaded before stay', async (t) => {
  const { sup, doc } = session({ args: ['--log-level', 'off', '--close-grace-ms', '200'] });
  t.after(() => sup.dispose());
  await doc.run([{ code: 'answer = 42' }]).done;
  const pages = new VariablePages((offset, limit) => sup.variables(doc.live!, offset, limit));
  assert.ok((await pages.reload()).ok);
  const stuck = doc.run([{ code: 'import re\nprint("matching", flush=True)\nre.match(r"(a+)+$", "a" * 40 + "b")' }]);
  await until(stuck.runs[0], (r) => r.output.text().includes('matching'));
  const busy = await pages.reload();
  assert.ok(!busy.ok && busy.failure.code === ErrorCode.SessionBusy, JSON.stringify(busy));
  assert.deepEqual(pages.variables.map((v) => v.name), ['answer']);
  await doc.close(); // abandons the stuck interpreter
});
