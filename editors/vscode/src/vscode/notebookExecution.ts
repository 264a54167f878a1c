// Runs notebook cells (a Jupyter notebook or the Interactive Window) in a
// document session and shows them the Jupyter way: stdout/stderr appended as
// stream items while the cell runs, displays and the value as MIME bundles,
// the error as an error item. The layout of outputs is decided by
// core/notebookOutputs.ts; this file only applies it to VS Code objects.

import * as vscode from 'vscode';
import { CellRun, CodeRegion } from '../core/cellRun';
import { DocumentSession } from '../core/documentSession';
import { bundleItems } from '../core/mime';
import { NotebookOp, NotebookOutputPlan, problemOutput } from '../core/notebookOutputs';
import { PythonError } from '../core/protocol';
import { Throttle } from '../core/throttle';

export interface NotebookRunOptions {
  /** Where a cell's code sits in a source file (Interactive Window cells sent from a file). */
  regionOf?: (cell: vscode.NotebookCell) => CodeRegion | undefined;
  /** The traceback as the user should read it (frames renamed to cells or file lines). */
  traceback: (error: PythonError) => string;
}

const flushMs = 100;

export async function runNotebookCells(
  controller: vscode.NotebookController,
  session: DocumentSession,
  cells: readonly vscode.NotebookCell[],
  options: NotebookRunOptions,
): Promise<void> {
  const views: CellExecutionView[] = [];
  for (const cell of cells) {
    if (cell.kind !== vscode.NotebookCellKind.Code) continue;
    try {
      views.push(new CellExecutionView(controller.createNotebookCellExecution(cell), options));
    } catch {
      // The cell is already running or queued: VS Code allows one execution per cell.
    }
  }
  const { runs, done } = session.run(
    views.map((view) => ({ code: view.cell.document.getText(), region: options.regionOf?.(view.cell), sink: view.plan })),
  );
  runs.forEach((run, i) => views[i].follow(run));
  await done;
  await Promise.all(views.map((v) => v.ended));
}

class CellExecutionView {
  readonly plan = new NotebookOutputPlan();
  private readonly outputs: vscode.NotebookCellOutput[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly throttle = new Throttle(flushMs, () => this.flush());
  private started = false;
  private finished = false;
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));

  constructor(
    private readonly execution: vscode.NotebookCellExecution,
    private readonly options: NotebookRunOptions,
  ) {}

  get cell(): vscode.NotebookCell {
    return this.execution.cell;
  }

  follow(run: CellRun): void {
    const update = (r: CellRun) => {
      if (r.state === 'running') this.start(r);
      if (r.isActive) this.throttle.schedule();
      else this.finish(r);
    };
    run.onChange(update);
    // In case it moved on before we listened (e.g. cancelled at once).
    if (run.state !== 'queued') update(run);
  }

  private start(run: CellRun): void {
    if (this.started) return;
    this.started = true;
    this.execution.executionOrder = run.executionCount;
    this.execution.start(Date.now());
    this.enqueue(() => this.execution.clearOutput());
  }

  private finish(run: CellRun): void {
    // Output a thread writes after its cell finished still reaches the run;
    // the execution has ended by then, so the notebook shows it no more.
    if (this.finished) return;
    this.finished = true;
    this.throttle.dispose();
    if (run.state === 'succeeded' || run.state === 'failed') {
      this.plan.result({ executionCount: run.executionCount!, durationMs: run.durationMs ?? 0, value: run.value, error: run.error });
    }
    const wasStarted = this.started;
    if (!this.started) {
      this.started = true;
      this.execution.start(Date.now());
    }
    this.flush();
    if (run.state === 'lost') {
      const lost = new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error(problemOutput(run.problem))], { outputType: 'error' });
      this.enqueue(() => this.execution.appendOutput(lost));
    }
    const success = run.state === 'succeeded' ? true : run.state === 'cancelled' && !wasStarted ? undefined : false;
    this.enqueue(() => this.execution.end(success, Date.now()));
    void this.chain.then(() => this.resolveEnded());
  }

  private flush(): void {
    for (const op of this.plan.flush()) this.enqueue(() => this.apply(op));
  }

  // Output edits are asynchronous; keep them in order.
  private enqueue(step: () => Thenable<void> | void): void {
    this.chain = this.chain.then(step).then(
      () => undefined,
      () => undefined, // the notebook was closed meanwhile: nothing left to draw
    );
  }

  private apply(op: NotebookOp): Thenable<void> {
    switch (op.kind) {
      case 'add-stream': {
        const output = new vscode.NotebookCellOutput([streamItem(op.stream, op.text)], { outputType: 'stream' });
        this.outputs[op.index] = output;
        return this.execution.appendOutput(output);
      }
      case 'append-stream':
        return this.execution.appendOutputItems(streamItem(op.stream, op.text), this.outputs[op.index]);
      case 'replace-stream':
        return this.execution.replaceOutputItems(streamItem(op.stream, op.text), this.outputs[op.index]);
      case 'add-display': {
        const items = bundleItems(op.data).map((item) => new vscode.NotebookCellOutputItem(item.data, item.mime));
        const metadata = op.result ? { outputType: 'execute_result', executionCount: this.plan.executionCount } : { outputType: 'display_data' };
        const output = new vscode.NotebookCellOutput(items, metadata);
        this.outputs[op.index] = output;
        return this.execution.appendOutput(output);
      }
      case 'add-error': {
        const item = vscode.NotebookCellOutputItem.error({ name: op.error.type, message: op.error.message, stack: this.options.traceback(op.error) });
        const output = new vscode.NotebookCellOutput([item], { outputType: 'error' });
        this.outputs[op.index] = output;
        return this.execution.appendOutput(output);
      }
    }
  }
}

function streamItem(stream: 'stdout' | 'stderr', text: string): vscode.NotebookCellOutputItem {
  return stream === 'stdout' ? vscode.NotebookCellOutputItem.stdout(text) : vscode.NotebookCellOutputItem.stderr(text);
}
