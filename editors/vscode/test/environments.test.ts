// Issue 12 in the core modules: the Pythons offered for a session, figures
// in the text views and in the rich output view, and a session on another
// Python (once the server runs one: until then that test is skipped).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DocumentSession } from '../src/core/documentSession';
import { bundleText, pngSize } from '../src/core/mime';
import { needsRichView, outputHtml } from '../src/core/outputHtml';
import { inlineSummary } from '../src/core/outputShaping';
import { findPythons } from '../src/core/pythonCandidates';
import { placementDetail, placementLabel } from '../src/core/sessionReport';
import { pictureCell, supervisor } from './helpers';

function tree(root: string, files: string[]): void {
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), '');
  }
}

test('the Pythons offered: the workspace venv, pyenv versions, conda envs, the system python3; missing ones are skipped', async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'subcell-pythons-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  tree(home, ['project/.venv/bin/python', '.pyenv/versions/3.12.1/bin/python', '.pyenv/versions/3.13.0/bin/python3', 'miniconda3/envs/ds/bin/python', 'listed/env/bin/python', 'usr/bin/python3']);
  const found = await findPythons({
    folders: [path.join(home, 'project')],
    home,
    condaEnvs: async () => [path.join(home, 'listed', 'env'), path.join(home, 'miniconda3', 'envs', 'ds')],
    system: [path.join(home, 'usr/bin/python3'), '/nonexistent/python3'],
  });
  assert.deepEqual(
    found.map((c) => [c.label, path.relative(home, c.executable)]),
    [
      ['workspace project/.venv', 'project/.venv/bin/python'],
      ['pyenv 3.12.1', '.pyenv/versions/3.12.1/bin/python'],
      ['pyenv 3.13.0', '.pyenv/versions/3.13.0/bin/python3'],
      ['conda ds', 'miniconda3/envs/ds/bin/python'],
      ['conda env', 'listed/env/bin/python'],
      [`system ${path.join(home, 'usr/bin/python3')}`, 'usr/bin/python3'],
    ],
  );
  const none = await findPythons({ folders: [], home: path.join(home, 'nobody'), condaEnvs: async () => Promise.reject(new Error('no conda')) });
  assert.deepEqual(none, []);
});

test('the status bar says which Python and where', () => {
  const where = { session: 's1', pooled: true, isolation: 'process' as const, pid: 42, python: { version: '3.11.2', executable: '/usr/bin/python3', prefix: '/usr' } };
  assert.equal(placementLabel(where), 'subcell: 3.11 · process');
  assert.equal(placementLabel({ ...where, isolation: 'interpreter', python: undefined }), 'subcell: interpreter');
  assert.equal(placementLabel(undefined), 'subcell');
  assert.equal(placementDetail('plots.ipynb', where), 'plots.ipynb: Python 3.11.2 (/usr/bin/python3), in a process of its own (pid 42). Click to choose another Python.');
});

test('a figure: "▸ figure 640×480" in the text views, the picture itself in the rich view', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  const doc = new DocumentSession({ supervisor: sup, name: 'plots.py' });
  const { runs, done } = doc.run([{ code: `${pictureCell}\ndisplay(Picture(640, 480))\nprint("drawn")` }]);
  await done;
  const run = runs[0];
  assert.equal(run.output.text(), '▸ figure 640×480\ndrawn\n');
  assert.equal(inlineSummary(run).text, '✓ [1] drawn  (+1 lines)');
  assert.ok(needsRichView(run));
  const html = outputHtml(run, { documentName: 'plots.py' });
  const png = /<img class="figure" alt="figure" src="data:image\/png;base64,([^"]+)">/.exec(html);
  assert.ok(png, html.slice(0, 500));
  assert.deepEqual(pngSize(png[1]), { width: 640, height: 480 });
  assert.match(html, /<pre>drawn\n<\/pre>/);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:/);

  const last = doc.run([{ code: 'Picture(320, 200)' }]);
  await last.done;
  assert.equal(inlineSummary(last.runs[0]).text, '✓ [2] → figure 320×200', 'a picture as the value');
  assert.equal(bundleText({ 'text/plain': 'x', 'image/svg+xml': '<svg/>' }), '▸ figure');
});

test('a session on /usr/bin/python3 (another CPython: a process session on it)', async (t) => {
  const sup = supervisor();
  t.after(() => sup.dispose());
  const doc = new DocumentSession({ supervisor: sup, name: 'other.ipynb', placement: () => ({ python: '/usr/bin/python3' }) });
  const { runs, done } = doc.run([{ code: 'import sys\nsys.executable' }]);
  await done;
  if (!doc.where?.python) {
    t.skip('the server does not run other Pythons yet (session/open answers no `python`)');
    return;
  }
  assert.match(doc.where.python.version, /^3\.11\./);
  assert.equal(doc.where.isolation, 'process');
  assert.match(runs[0].value!['text/plain'], /python3/);

  // Debian's matplotlib and pandas (test-e2e/install-tools.sh installs them).
  const plots = doc.run([
    { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()' },
    { code: 'import pandas as pd\npd.DataFrame({"a": [1, 2], "b": [3, 4]})' },
  ]);
  await plots.done;
  if (plots.runs[0].error?.type === 'ModuleNotFoundError') {
    t.skip('no matplotlib for /usr/bin/python3 (apt install python3-matplotlib python3-pandas)');
    return;
  }
  assert.equal(plots.runs[0].output.text(), '▸ figure 640×480\n');
  assert.match(String(plots.runs[1].value?.['text/html']), /<table/);
});
