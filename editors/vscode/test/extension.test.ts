// The whole extension (src/extension.ts and src/vscode/*) activated against a
// stand-in `vscode` module and the real server: what the editor would draw.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binary, fixtures } from './helpers';
import { createFake, FakeDocument, FakeEditor, FakeNotebook, installFake, outputText, Uri } from './fakeVscode';

const root = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const fakeVscode = createFake({ serverPath: binary, serverArgs: ['--log-level', 'warning'] });
const { fake, commands, contexts, diagnostics, window, workspace, controllers } = fakeVscode;

let extension: { activate(context: unknown): void; deactivate(): Promise<void> };
let restore: () => void;
const subscriptions: Array<{ dispose(): unknown }> = [];
const demoPath = path.join(fixtures, 'demo.py');
const demo = new FakeDocument(Uri.file(demoPath), fs.readFileSync(demoPath, 'utf8'));
const editor = new FakeEditor(demo);

before(() => {
  restore = installFake(fake);
  extension = require('../src/extension');
  extension.activate({ subscriptions, extension: { id: 'subcell.subcell', packageJSON: manifest } });
});

after(async () => {
  await extension.deactivate();
  restore();
});

function openEditor(): void {
  workspace.textDocuments.push(demo);
  window.visibleTextEditors.push(editor);
  window.activeTextEditor = editor;
  fakeVscode.events.activeEditor.fire(editor);
}

test('every contributed command is registered, and only those', () => {
  const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual([...commands.keys()].sort(), contributed);
});

test('keybindings and menus name real commands; Shift+Enter only in files with cells', () => {
  const known = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  // VS Code's own "Execute Cell" is bound to Super+Enter on Linux and loses Ctrl+Enter to
  // "Insert Line Below" in a cell's editor: the one binding for a command of VS Code's.
  const ctrlEnter = manifest.contributes.keybindings.filter((k: { command: string }) => k.command === 'notebook.cell.execute');
  assert.deepEqual(ctrlEnter.map((k: { key: string }) => k.key), ['ctrl+enter']);
  assert.match(ctrlEnter[0].when, /notebookKernel =~ \/\^subcell\\.subcell\\\//);
  for (const binding of manifest.contributes.keybindings) assert.ok(known.has(binding.command) || binding === ctrlEnter[0], binding.command);
  for (const items of Object.values(manifest.contributes.menus) as Array<Array<{ command: string }>>) {
    for (const item of items) assert.ok(known.has(item.command), item.command);
  }
  const shiftEnter = manifest.contributes.keybindings.filter((k: { key: string }) => k.key === 'shift+enter');
  assert.ok(shiftEnter.length > 0 && shiftEnter.every((k: { when: string }) => k.when.includes('subcell.hasCells')));
});

test('engines.vscode accepts the @types/vscode the code is checked against', () => {
  const types = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@types', 'vscode', 'package.json'), 'utf8')).version;
  const engine = /^\^(\d+)\.(\d+)/.exec(manifest.engines.vscode)!;
  const [major, minor] = types.split('.').map(Number);
  assert.ok(major === Number(engine[1]) && minor <= Number(engine[2]), `@types/vscode ${types} vs engines ${manifest.engines.vscode}`);
});

test('a file with # %% markers sets the context key and gets Run Cell | Run Below | Reset lenses', () => {
  openEditor();
  assert.equal(contexts.get('subcell.hasCells'), true);
  const lenses = fakeVscode.codeLensProviders[0].provideCodeLenses(demo);
  const first = lenses.filter((l) => l.range.start.line === 2).map((l) => l.command!.title);
  assert.deepEqual(first, ['$(play) Run Cell', 'Run Below', 'Reset']);
  assert.ok(!lenses.some((l) => l.range.start.line === 33), 'no lenses on the markdown cell');
});

test('Run All draws each cell\'s result after it and marks the error line', async () => {
  openEditor();
  await commands.get('subcell.runAll')!();
  const inline = editor.inlineTexts();
  assert.equal(inline.get(0), undefined, 'the header comment is not run');
  assert.equal(inline.get(7), '✓ [1] tick 2  (+2 lines)'); // after `time.sleep(0.05)`
  assert.equal(inline.get(11), '✓ [2] → 42');
  assert.equal(inline.get(19), '✗ [4] ZeroDivisionError: division by zero');
  assert.equal(inline.get(23), '⊘ not run: an earlier cell raised ZeroDivisionError', 'Run All stops at the error');
  const marks = diagnostics.get(demo.uri.toString())!;
  assert.equal(marks.length, 1);
  assert.equal(marks[0].message, 'ZeroDivisionError: division by zero');
  assert.equal(marks[0].range.start.line, 15, 'on `return a / b`, in the cell that defines the function');
  assert.deepEqual(marks[0].relatedInformation!.map((r) => [r.location.range.start.line, r.message]), [[19, 'cell code: divide(1, 0)']]);
});

test('the hover links to the full output, which shows the traceback in file lines', async () => {
  openEditor();
  const hover = [...editor.decorations.values()].flat().find((d) => d.range.start.line === 19)!.hoverMessage!;
  assert.match(hover.value, /dividing/);
  assert.match(hover.value, /command:subcell\.showRunOutput/);
  editor.selection = new (fake.Selection)(18, 0, 18, 0);
  await commands.get('subcell.showCellOutput')!();
  const view = workspace.textDocuments.find((d) => d.uri.scheme === 'subcell-output')!;
  assert.match(view.text, /^dividing$/m);
  assert.ok(view.text.includes(`File "${demoPath}", line 20, in <module>`), view.text);
  assert.ok(view.text.includes(`File "${demoPath}", line 16, in divide`), view.text);
});

test('Run Cell and Advance runs the cell under the cursor and moves to the next cell', async () => {
  openEditor();
  editor.selection = new (fake.Selection)(11, 0, 11, 0);
  await commands.get('subcell.runCellAndAdvance')!();
  assert.equal(editor.selection.active.line, 14, 'the cursor is on the next cell\'s first code line');
  assert.match(editor.inlineTexts().get(11)!, /^✓ \[\d+\] → 42$/);
});

test('the lenses do not change while a cell runs; the busy context key does, at once', async () => {
  openEditor();
  const titles = () => fakeVscode.codeLensProviders[0].provideCodeLenses(demo).map((l) => l.command!.title);
  const before = titles();
  assert.ok(!before.some((t) => t.includes('Interrupt')));
  editor.selection = new (fake.Selection)(11, 0, 11, 0);
  const running = commands.get('subcell.runCell')!();
  assert.equal(contexts.get('subcell.busy'), true, 'busy as soon as the cell is queued');
  assert.deepEqual(titles(), before);
  await running;
  assert.equal(contexts.get('subcell.busy'), false, 'idle once it finished');
  const interrupt = manifest.contributes.menus['editor/title'].find((m: { command: string }) => m.command === 'subcell.interrupt');
  assert.match(interrupt.when, /subcell\.busy/);
});

test('a flood of lines and a 100,000-character line: few redraws, short inline text', async () => {
  const flood = new FakeDocument(Uri.file('/tmp/flood.py'), '# %%\nfor i in range(300000):\n    print(i)\n\n# %%\nprint("x" * 100000)\n');
  const floodEditor = new FakeEditor(flood);
  workspace.textDocuments.push(flood);
  window.visibleTextEditors.push(floodEditor);
  window.activeTextEditor = floodEditor;
  const started = Date.now();
  await commands.get('subcell.runAll')!();
  const seconds = (Date.now() - started) / 1000;
  const redraws = floodEditor.decorationCalls / 4; // one call per decoration type
  // Redraws are throttled to about ten a second, however fast lines come.
  assert.ok(redraws <= 10 * seconds + 6, `${redraws} redraws in ${seconds.toFixed(2)} s`);
  const inline = floodEditor.inlineTexts();
  assert.equal(inline.get(2), '✓ [1] 299999  (+299,999 lines)');
  assert.ok(inline.get(5)!.length <= 120);
  assert.match(inline.get(5)!, /^✓ \[2\] x+… \(\+[\d,]+ chars\)$/);
  window.visibleTextEditors.pop();
});

test('a Jupyter notebook: streams appended while running, the value as a MIME bundle, errors as error items', async () => {
  const controller = controllers.get('subcell-notebook')!;
  assert.equal(controller.notebookType, 'jupyter-notebook');
  const notebook = new FakeNotebook(Uri.file('/tmp/analysis.ipynb'), 'jupyter-notebook');
  workspace.notebookDocuments.push(notebook);
  const streaming = notebook.add('import time, sys\nprint("first", flush=True)\ntime.sleep(0.3)\nprint("second")\nprint("oops", file=sys.stderr)\n21 * 2');
  const failing = notebook.add('def f():\n    return 1 / 0\nf()');
  await controller.executeHandler(notebook.cells, notebook, controller);

  assert.equal(streaming.executionOrder, 1);
  assert.equal(streaming.success, true);
  assert.deepEqual(streaming.outputs.map((o) => o.items[0].mime), [
    'application/vnd.code.notebook.stdout',
    'application/vnd.code.notebook.stderr',
    'text/plain',
  ]);
  assert.equal(outputText(streaming.outputs[0]), 'first\nsecond\n');
  assert.equal(outputText(streaming.outputs[2]), '42');
  // "second" was appended to the stdout output after "first" was drawn.
  assert.ok(streaming.events.indexOf('append') > streaming.events.indexOf('output:application/vnd.code.notebook.stdout'));
  assert.ok(streaming.events.indexOf('append') < streaming.events.indexOf('end'));

  assert.equal(failing.success, false);
  const error = JSON.parse(outputText(failing.outputs[0]));
  assert.equal(error.name, 'ZeroDivisionError');
  assert.match(error.stack, /Cell In\[2\], line 3/);
  assert.match(error.stack, /Cell In\[2\], line 2, in f/);
});

test('a notebook cell stuck in `while True: pass` stops on interrupt', async () => {
  const controller = controllers.get('subcell-notebook')!;
  const notebook = workspace.notebookDocuments.find((n) => n.uri.path === '/tmp/analysis.ipynb')!;
  const loop = notebook.add('while True:\n    pass');
  const started = new Promise<void>((resolve) => (loop.onEvent = (e) => e === 'start' && resolve()));
  const running = controller.executeHandler([loop], notebook, controller);
  await started;
  await controller.interruptHandler(notebook);
  await running;
  assert.equal(loop.success, false);
  assert.equal(JSON.parse(outputText(loop.outputs[0])).name, 'KeyboardInterrupt');
});

test('in Restricted Mode nothing runs, and the user is told why', async () => {
  openEditor();
  workspace.isTrusted = false;
  try {
    const count = fakeVscode.messages.length;
    editor.selection = new (fake.Selection)(11, 0, 11, 0);
    const before = editor.inlineTexts().get(11);
    await commands.get('subcell.runCell')!();
    assert.equal(editor.inlineTexts().get(11), before, 'the cell did not run');
    assert.match(fakeVscode.messages.slice(count).join('\n'), /runs no code in Restricted Mode/);
    const notebook = workspace.notebookDocuments.find((n) => n.uri.path === '/tmp/analysis.ipynb')!;
    const cell = notebook.add('1 + 1');
    await controllers.get('subcell-notebook')!.executeHandler([cell], notebook, controllers.get('subcell-notebook'));
    assert.equal(cell.outputs.length, 0);
    assert.equal(cell.executionOrder, undefined);
  } finally {
    workspace.isTrusted = true;
  }
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
});

test('Run in Interactive Window opens the window with the subcell controller and runs the cell there', async () => {
  openEditor();
  editor.selection = new (fake.Selection)(11, 0, 11, 0);
  await commands.get('subcell.runCellInInteractiveWindow')!();
  const open = fakeVscode.calls.find((c) => c.command === 'interactive.open')!;
  assert.equal(open.args[2], 'subcell.subcell/subcell-interactive');
  const window = workspace.notebookDocuments.find((n) => n.notebookType === 'interactive')!;
  const cell = window.cells[0];
  assert.equal(cell.document.text, 'x = 21\nx * 2');
  assert.equal(outputText(cell.outputs[0]), '42');
  // It shares the file's session: the same execution counter goes on.
  assert.ok(cell.executionOrder! > 3);
});

test('a notebook cell whose server dies shows one sentence, not the extension\'s JavaScript stack', async () => {
  const controller = controllers.get('subcell-notebook')!;
  const notebook = workspace.notebookDocuments.find((n) => n.uri.path === '/tmp/analysis.ipynb')!;
  const sleeper = notebook.add('import time\nprint("waiting", flush=True)\ntime.sleep(60)');
  const printed = new Promise<void>((resolve) => (sleeper.onEvent = (e) => e.startsWith('output:') && resolve()));
  const running = controller.executeHandler([sleeper], notebook, controller);
  await printed;
  const started = [...fakeVscode.log].reverse().find((l) => l.startsWith('started subcell'))!;
  process.kill(Number(/pid (\d+)/.exec(started)![1]), 'SIGKILL');
  await running;
  assert.equal(sleeper.success, false);
  const error = JSON.parse(outputText(sleeper.outputs[sleeper.outputs.length - 1]));
  assert.equal(error.stack, '');
  assert.equal(error.name, '');
  assert.match(error.message, /^The subcell server stopped before this cell finished/);
  assert.doesNotMatch(JSON.stringify(error), /\bat \w+|\.js:\d+/);
});

test('closing the document clears its marks', async () => {
  fakeVscode.events.closeDocument.fire(demo);
  assert.equal(diagnostics.has(demo.uri.toString()), false);
});

test('deactivate shuts the server down, after VS Code closed the log channel, without writing to it', async () => {
  // A session is open: the server's exit reports it lost, which must not reach the closed channel.
  const open = new FakeDocument(Uri.file('/tmp/open.py'), '# %%\nx = 1\n');
  workspace.textDocuments.push(open);
  await commands.get('subcell.runAll')!(open.uri);
  const started = [...fakeVscode.log].reverse().find((l) => l.startsWith('started subcell'))!;
  const pid = Number(/pid (\d+)/.exec(started)![1]);
  const count = fakeVscode.messages.length;
  // VS Code's order: deactivate() is called, the subscriptions (the channel among them)
  // are disposed at once, and only then does the promise settle.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  try {
    const deactivating = extension.deactivate();
    for (const s of subscriptions) s.dispose();
    await deactivating;
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
  assert.deepEqual(unhandled, []);
  assert.deepEqual(fakeVscode.messages.slice(count), [], 'no "server was stopped" warning while VS Code closes');
});
