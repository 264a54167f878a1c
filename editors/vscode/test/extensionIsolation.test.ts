// Isolation in the editor (the whole extension, the real server): the
// `subcell.isolation` setting, the message when an auto session moves, the
// `restartInProcess` suggestion as a Quick Fix, a notebook cell status bar
// item and a notification button, and a crashed session.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Activated, activateExtension, eventually, manifest, outputsOf } from './activation';
import { Diagnostic, Range } from './fakeVscode';

let ext: Activated;

before(() => {
  ext = activateExtension({ isolation: 'auto', cellTimeoutSeconds: 60 });
});

after(() => ext.close());

test('the settings and commands are contributed', () => {
  const props = manifest.contributes.configuration.properties;
  assert.deepEqual(props['subcell.isolation'].enum, ['interpreter', 'process', 'auto']);
  assert.equal(props['subcell.isolation'].default, 'interpreter');
  assert.ok(props['subcell.cellTimeoutSeconds'] && props['subcell.memoryLimitMB'] && props['subcell.python']);
  const titles = manifest.contributes.commands.map((c: { title: string }) => c.title);
  assert.ok(titles.includes('Restart Session in a Process') && titles.includes('Restart Session in an Interpreter'));
});

test('an auto notebook importing a module that needs a process moves, and the user is told why', async () => {
  const notebook = ext.openNotebook('/tmp/moves.ipynb', ['import _testsinglephase, os\nos.getpid()']);
  await ext.runCells(notebook, notebook.cells);
  const said = await eventually('the move message', () => ext.fake.messages, (m) => m.some((t) => /moved to a process/.test(t)));
  assert.ok(said.includes('subcell: moves.ipynb moved to a process because it imports _testsinglephase'));
  const pid = outputsOf(notebook.cells[0])[0];
  assert.match(pid, /^\d+$/);
  assert.ok(ext.fake.log.some((l) => l.includes(`pid ${pid}`)), 'the log names the worker');
  const status = ext.fake.statusItems.find((i) => i.id === 'subcell.session')!;
  assert.match(status.text, /subcell: (\d+\.\d+ · )?process$/);
});

test('a # %% file with state: the suggestion is a Quick Fix on the import line, which restarts the session in a process', async () => {
  const text = '# %%\nx = 1\n\n# %%\nimport _testsinglephase\n_testsinglephase.__name__\n';
  const editor = ext.openEditor('/tmp/fix.py', text);
  await ext.fake.commands.get('subcell.runAll')!();
  const uri = editor.document.uri.toString();
  const marks = ext.fake.diagnostics.get(uri)!;
  assert.equal(marks.length, 1);
  assert.equal(marks[0].range.start.line, 4, 'on `import _testsinglephase`');
  assert.equal(marks[0].code, 'restartInProcess');
  assert.match(marks[0].message, /^ImportError: _testsinglephase cannot be imported in a subinterpreter/);
  const actions = ext.fake.providers.codeActions[0].provideCodeActions(editor.document, new Range(4, 0, 4, 0), { diagnostics: marks as Diagnostic[] });
  assert.equal(actions.length, 1);
  assert.equal(actions[0].title, 'Restart the session in a process');
  assert.equal(actions[0].kind.value, 'quickfix');
  await ext.fake.fake.commands.executeCommand(actions[0].command!.command, ...actions[0].command!.arguments!);
  assert.ok(ext.fake.messages.some((m) => /^subcell: fix\.py restarted in a process \(pid \d+\)/.test(m)));
  await ext.fake.commands.get('subcell.runAll')!();
  assert.equal(editor.inlineTexts().get(5), "✓ [2] → '_testsinglephase'");
  assert.deepEqual(ext.fake.diagnostics.get(uri), []);
});

test('a notebook cell with the suggestion: a button in its status bar and on the notification; either restarts it in a process', async () => {
  ext.fake.user.choose = (message, buttons) => (/cannot load|where _testsinglephase loads/.test(message) && buttons.includes('Restart in a Process') ? 'Restart in a Process' : undefined);
  const notebook = ext.openNotebook('/tmp/state.ipynb', ['y = 2', 'import _testsinglephase\n_testsinglephase.__name__']);
  await ext.runCells(notebook, notebook.cells);
  const failing = notebook.cells[1];
  assert.equal(JSON.parse(outputsOf(failing)[0]).name, 'ImportError');
  const items = ext.fake.providers.cellStatus[0].provideCellStatusBarItems(failing);
  assert.deepEqual(items.map((i) => i.text), ['$(debug-restart) Restart in a Process']);
  assert.equal(items[0].command!.command, 'subcell.restartInProcess');
  // The notification's button was pressed (user.choose): the session restarts in a process.
  await eventually('the restart', () => ext.fake.messages, (m) => m.some((t) => /^subcell: state\.ipynb restarted in a process/.test(t)));
  assert.deepEqual(ext.fake.providers.cellStatus[0].provideCellStatusBarItems(failing), [], 'nothing left to offer');
  await ext.runCells(notebook, [failing]);
  assert.equal(outputsOf(failing)[0], "'_testsinglephase'");
  ext.fake.user.choose = () => undefined;
});

test('a crashed process session: a warning naming the document and the cause, the stderr tail in the log, the cell says so', async () => {
  const notebook = ext.openNotebook('/tmp/crash.ipynb', ['import _testsinglephase', 'import os, time\nprint("going", flush=True)\ntime.sleep(0.2)  # the worker forwards output every few ms\nos.abort()']);
  await ext.runCells(notebook, notebook.cells);
  const warning = await eventually('the crash warning', () => ext.fake.messages, (m) => m.some((t) => /crash\.ipynb crashed/.test(t)));
  assert.match(warning.find((t) => /crashed/.test(t))!, /^subcell: the session of crash\.ipynb crashed \(.*SIGABRT.*\): its variables are gone/);
  assert.ok(ext.fake.log.some((l) => /Fatal Python error: Aborted/.test(l)), 'the worker\'s stderr is in the log');
  const shown = outputsOf(notebook.cells[1]);
  assert.equal(shown[0], 'going\n');
  const error = JSON.parse(shown[shown.length - 1]);
  assert.match(error.message, /^The session crashed \(.*SIGABRT.*\): its variables are gone\. Run the cell again/);
  assert.match(error.stack, /Fatal Python error: Aborted/);
  assert.equal(notebook.cells[1].success, false);
});
