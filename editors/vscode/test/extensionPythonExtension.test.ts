// With the Python extension installed (a stand-in of its environments API):
// the interpreter it selects is the default Python of new sessions, and
// follows the user's choice there; subcell.python, when set, wins.

import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Activated, activateExtension, eventually } from './activation';
import { EventEmitter, Uri } from './fakeVscode';

let ext: Activated;
let selected = '/opt/project/.venv/bin/python';
const changed = new EventEmitter<unknown>();
const asked: string[] = [];

before(() => {
  const environments = {
    getActiveEnvironmentPath: () => ({ id: selected, path: selected }),
    resolveEnvironment: async (env: { path: string }) => (asked.push(env.path), { executable: { uri: Uri.file(env.path) } }),
    onDidChangeActiveEnvironmentPath: changed.event,
  };
  const api = { ready: Promise.resolve(), environments };
  ext = activateExtension({}, (fake) => {
    fake.fake.extensions.getExtension = (id: string) => (id === 'ms-python.python' ? { isActive: false, exports: undefined, activate: async () => api } : undefined);
  });
});

after(() => ext.close());

async function defaultOffered(): Promise<string | undefined> {
  let description: string | undefined;
  ext.fake.user.pick = async (items: Array<{ label: string; description?: string }>) => ((description = items[0].description), undefined);
  const editor = ext.openEditor('/tmp/env.py', '# %%\n1\n');
  await ext.fake.commands.get('subcell.pickPython')!(editor.document.uri);
  return description;
}

test("the Python extension's selected interpreter is the default, and follows its changes", async () => {
  await eventually('the API to be read', () => asked, (a) => a.length > 0);
  assert.equal(await defaultOffered(), '/opt/project/.venv/bin/python');
  selected = '/opt/other/bin/python3';
  changed.fire({ path: selected });
  await eventually('the change', () => ext.fake.log, (log) => log.some((l) => l.includes('selects /opt/other/bin/python3')));
  assert.equal(await defaultOffered(), '/opt/other/bin/python3');
  ext.fake.settings.python = '/usr/bin/python3';
  assert.equal(await defaultOffered(), '/usr/bin/python3', 'subcell.python wins when it is set');
  delete ext.fake.settings.python;
});

test("\"subcell's own Python\" runs the document on the server's Python whatever the Python extension selects", async () => {
  const editor = ext.openEditor('/tmp/own.py', '# %%\n1\n');
  ext.fake.user.pick = async (items: Array<{ label: string }>) => items.find((i) => i.label.includes("subcell's own Python"));
  await ext.fake.commands.get('subcell.pickPython')!(editor.document.uri);
  const said = await eventually('the outcome', () => ext.fake.messages, (m) => m.some((t) => /own\.py runs on|cannot run own\.py/.test(t)));
  assert.match(said.find((t) => /own\.py/.test(t))!, /^subcell: own\.py runs on (Python 3\.\d+\.\d+ \(.*\)|the default Python), in an interpreter/);
});
