// Prints what a user of the extension sees when running examples/tour.py,
// for the README (VS Code cannot run on the machine that builds this). It
// drives the same modules the extension draws with (src/core: the session,
// the inline summary, the hover preview, the full output view, the error
// mapping, the notebook output layout) against the real server.
//
//   node out/scripts/captureTour.js [path/to/tour.py]
//   SUBCELL_BINARY=/path/to/subcell node out/scripts/captureTour.js

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCells, runnable } from '../src/core/cells';
import { CellRun } from '../src/core/cellRun';
import { cellToRun, DocumentSession } from '../src/core/documentSession';
import { applyOps, NotebookOutputPlan } from '../src/core/notebookOutputs';
import { fullOutput, inlineSummary, preview } from '../src/core/outputShaping';
import { ServerSupervisor } from '../src/core/serverSupervisor';

const binary = process.env.SUBCELL_BINARY || 'subcell';
const tourPath = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', '..', '..', 'examples', 'tour.py'));
const name = path.basename(tourPath);

function heading(text: string): void {
  console.log(`\n── ${text} ${'─'.repeat(Math.max(0, 74 - text.length))}`);
}

// The editor: each line, and after a cell's last code line the inline text,
// 3 columns after the code as the decoration's margin puts it.
function drawEditor(lines: string[], runs: CellRun[]): void {
  const after = new Map<number, string>();
  for (const run of runs) {
    if (run.region) after.set(run.region.firstLine + run.region.lineCount - 1, inlineSummary(run).text);
  }
  lines.forEach((line, i) => {
    const number = String(i + 1).padStart(3);
    const text = after.has(i) ? `${line}   ${after.get(i)}` : line;
    console.log(`${number} │ ${text}`);
  });
}

async function main(): Promise<void> {
  const source = fs.readFileSync(tourPath, 'utf8');
  const lines = source.replace(/\n$/, '').split('\n');
  const cells = runnable(parseCells(source));
  const supervisor = new ServerSupervisor({ binary });
  const started = await supervisor.connection();
  if (!started.ok) throw new Error(started.failure.message);
  const info = started.value.info;
  console.log(`subcell ${info.serverInfo.version} · Python ${info.python.version}${info.python.ownGil ? ' (own GIL per session)' : ''} · ${tourPath}`);

  // Run All, as with "subcell.runAll.stopOnError": false (like `subcell run --allow-errors`).
  const session = new DocumentSession({ supervisor, name, cwd: path.dirname(tourPath), stopOnError: false });
  const t0 = Date.now();
  const { runs, done } = session.run(cells.map(cellToRun));

  heading(`while cell 1 runs: the text after line ${runs[0].region!.firstLine + runs[0].region!.lineCount}, as it changes`);
  let last = '';
  runs[0].onChange((run) => {
    const text = inlineSummary(run).text;
    if (text !== last) console.log(`  t=${((Date.now() - t0) / 1000).toFixed(2)}s  ${text}`);
    last = text;
  });
  await done;

  heading(`the editor after "Run All" (${name})`);
  drawEditor(lines, runs);

  heading('Problems panel (vscode.Diagnostic from the traceback)');
  for (const { mapped } of session.standingErrors()) {
    const at = mapped.primary!.position.line + 1;
    console.log(`  ${name}:${at}  error  ${mapped.summary}  [subcell]`);
    for (const related of mapped.related) console.log(`      ${name}:${related.position.line + 1}: ${related.label}`);
  }

  const failed = runs.find((r) => r.state === 'failed')!;
  heading(`hover over the ✗ of line ${failed.region!.firstLine + failed.region!.lineCount}`);
  const hover = preview(failed);
  console.log(`  subcell · In [${failed.executionCount}] · ${failed.state}`);
  for (const line of hover.lines) console.log(`  │ ${line}`);
  console.log('  Show traceback');

  heading('"subcell: Show Full Output of Cell" on that cell (a read-only document)');
  const full = fullOutput(failed, { documentName: name, traceback: session.traceback(failed, tourPath) });
  for (const line of full.replace(/\n$/, '').split('\n')) console.log(`  ${line}`);

  heading('the rich-value cell in a notebook / the Interactive Window (output items)');
  const rich = cells.find((c) => c.title.startsWith('Rich values'))!;
  const plan = new NotebookOutputPlan();
  const shown: Array<{ kind: string; text: string }> = [];
  const nb = session.run([{ ...cellToRun(rich), sink: plan }]);
  await nb.done;
  const run = nb.runs[0];
  plan.result({ executionCount: run.executionCount!, durationMs: run.durationMs ?? 0, value: run.value, error: run.error });
  const ops = plan.flush();
  applyOps(shown, ops);
  for (const [i, output] of shown.entries()) {
    const op = ops.find((o) => o.index === i);
    const mimes = op && op.kind === 'add-display' ? ` (${Object.keys(op.data).join(', ')})` : '';
    console.log(`  [${output.kind}]${mimes} ${output.text}`);
  }
  if (run.value?.['text/html']) console.log(`  rendered from text/html: ${String(run.value['text/html'])}`);

  await supervisor.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
