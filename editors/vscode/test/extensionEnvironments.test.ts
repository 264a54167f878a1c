// Issue 12 in the editor (the whole extension, the real server): the status
// bar item, picking a Python for a document, and a figure in a `# %%` file
// (its line, and the rich output view the full output opens in).

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Activated, activateExtension, eventually } from './activation';
import { pictureCell } from './helpers';

let ext: Activated;

before(() => {
  ext = activateExtension();
});

after(() => ext.close());

const statusItem = () => ext.fake.statusItems.find((i) => i.id === 'subcell.session')!;

test('the status bar shows the session of the active # %% file: before it runs, then where it runs', async () => {
  ext.openEditor('/tmp/where.py', '# %%\nx = 1\n');
  assert.equal(statusItem().visible, true);
  assert.equal(statusItem().text, '$(symbol-misc) subcell');
  await ext.fake.commands.get('subcell.runAll')!();
  assert.match(statusItem().text, /^\$\(symbol-misc\) subcell: (\d+\.\d+ · )?interpreter$/);
  assert.equal(statusItem().command, 'subcell.pickPython', 'the picker acts on the active document');
  ext.openEditor('/tmp/plain.py', 'print(1)\n');
  assert.equal(statusItem().visible, false, 'a Python file without cells has no subcell session');
});

test('picking a path restarts the session on it; a Python the server refuses leaves the session as it was', async () => {
  const editor = ext.openEditor('/tmp/pick.py', '# %%\nimport sys\nsys.version_info[:2]\n');
  await ext.fake.commands.get('subcell.runAll')!();
  const offered: string[] = [];
  ext.fake.user.pick = async (items) => (offered.push(...items.map((i) => i.label)), items.find((i) => i.label.includes('Enter an interpreter path')));
  ext.fake.user.input = async () => '/usr/bin/python3';
  await ext.fake.commands.get('subcell.pickPython')!(editor.document.uri);
  assert.equal(offered[0], '$(gear) Default');
  assert.ok(offered.includes('system /usr/bin/python3'), offered.join(', '));
  const said = await eventually('the outcome', () => ext.fake.messages, (m) => m.some((t) => /pick\.py runs on|cannot run pick\.py/.test(t)));
  const outcome = said.find((t) => /pick\.py runs on|cannot run pick\.py/.test(t))!;
  await ext.fake.commands.get('subcell.runAll')!();
  const value = editor.inlineTexts().get(2)!;
  if (!/runs on Python 3\.11/.test(outcome)) {
    // A server without issue 12 answers without a `python`; a build without a 3.11 worker refuses it.
    assert.match(outcome, /runs on the default Python|cannot run pick\.py/);
    return;
  }
  assert.match(outcome, /^subcell: pick\.py runs on Python 3\.11\.\d+ \(\/usr\/bin\/python3(\.11)?\), in a process/);
  assert.equal(value, '✓ [1] → (3, 11)');
  assert.match(statusItem().text, /subcell: 3\.11 · process$/);

  ext.fake.user.input = async () => '/nonexistent/python3';
  await ext.fake.commands.get('subcell.pickPython')!(editor.document.uri);
  const refused = await eventually('the refusal', () => ext.fake.messages, (m) => m.some((t) => /nonexistent.*cannot run pick\.py/.test(t)));
  assert.match(refused.find((t) => /cannot run/.test(t))!, /^subcell: \/nonexistent\/python3 cannot run pick\.py: .*nonexistent/);
  await ext.fake.commands.get('subcell.runAll')!();
  assert.equal(editor.inlineTexts().get(2), '✓ [1] → (3, 11)', 'the session was reopened on the Python it had');
  assert.match(statusItem().text, /subcell: 3\.11 · process$/);
});

test('a figure in a # %% file: "▸ figure 640×480" after the cell; the full output opens a view that shows it', async () => {
  const text = `# %%\n${pictureCell}\ndisplay(Picture(640, 480))\n`;
  const editor = ext.openEditor('/tmp/figure.py', text);
  await ext.fake.commands.get('subcell.runAll')!();
  const last = text.split('\n').length - 2;
  assert.equal(editor.inlineTexts().get(last), '✓ [1] ▸ figure 640×480');
  editor.selection = new (ext.fake.fake.Selection)(1, 0, 1, 0);
  await ext.fake.commands.get('subcell.showCellOutput')!();
  const panel = ext.fake.panels[ext.fake.panels.length - 1];
  assert.equal(panel.title, 'figure.py · line 2 · output');
  assert.match(panel.webview.html, /<img class="figure" alt="figure" src="data:image\/png;base64,/);
});
