// Runs notebook cells (a Jupyter notebook or the Interactive Window) in a
// document session and shows them the Jupyter way: stdout/stderr appended as
// stream items while the cell runs, displays and the value as MIME bundles,
// the error as an error item. The layout of outputs is decided by
// core/notebookOutputs.ts; this file only applies it to VS Code objects.
//
// A cell's outputs can change after its execution ended: output a thread
// writes later (late output), `update_display` from another cell, the crash
// report of its session. VS Code changes outputs only through an execution,
// so those edits go through a short one of their own that keeps the cell's
// order, timing and success mark (finishedCellEdit).

import * as vscode from 'vscode';
import { CellRun, CodeRegion } from '../core/cellRun';
import { DocumentSession } from '../core/documentSession';
import { bundleItems } from '../core/mime';
import { NotebookOp, NotebookOutputPlan, problemOutput } from '../core/notebookOutputs';
import { MimeBundle, PythonError } from '../core/protocol';
import { Throttle } from '../core/throttle';

export interface NotebookRunOptions {
  /** Where a cell's code sits in a source file (Interactive Window cells sent from a file). */
  regionOf?: (cell: vscode.NotebookCell) => CodeRegion | undefined;
  /** The traceback as the user should read it (frames renamed to cells or file lines). */
  traceback: (error: PythonError) => string;
}

const flushMs = 100;

/** The view of each cell's latest run: where late output and display updates go. */
const latestViews = new WeakMap<vscode.NotebookCell, CellExecutionView>();

/** The latest run of a notebook cell in this window, if it ran here. */
export function latestRunOf(cell: vscode.NotebookCell): CellRun | undefined {
  return latestViews.get(cell)?.run;
}

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
      views.push(new CellExecutionView(controller, controller.createNotebookCellExecution(cell), options));
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

/** `update_display` in the session: every cell of the notebook that shows that display redraws it. */
export function followDisplayUpdates(notebook: vscode.NotebookDocument, session: DocumentSession): () => void {
  return session.onSessionEvent((event) => {
    if (event.kind !== 'display') return;
    for (const cell of notebook.getCells()) latestViews.get(cell)?.updateDisplay(event.displayId, event.data);
  });
}

/**
 * Edits the outputs of a cell whose execution has ended, through a new
 * execution that keeps its order, timing and success mark. Nothing happens
 * while the cell runs or is queued (its own execution draws it).
 */
async function finishedCellEdit(
  controller: vscode.NotebookController,
  cell: vscode.NotebookCell,
  edit: (execution: vscode.NotebookCellExecution) => Thenable<void> | Promise<void>,
): Promise<void> {
  let execution: vscode.NotebookCellExecution;
  try {
    execution = controller.createNotebookCellExecution(cell);
  } catch {
    return;
  }
  const summary = cell.executionSummary;
  execution.executionOrder = summary?.executionOrder;
  execution.start(summary?.timing?.startTime);
  try {
    await edit(execution);
  } finally {
    execution.end(summary?.success, summary?.timing?.endTime);
  }
}

class CellExecutionView {
  readonly plan = new NotebookOutputPlan();
  run: CellRun | undefined;
  private outputs: vscode.NotebookCellOutput[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly throttle = new Throttle(flushMs, () => this.flush());
  private started = false;
  private finished = false;
  private problemShown: vscode.NotebookCellOutput | undefined;
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));

  constructor(
    private readonly controller: vscode.NotebookController,
    private readonly execution: vscode.NotebookCellExecution,
    private readonly options: NotebookRunOptions,
  ) {
    latestViews.set(execution.cell, this);
  }

  get cell(): vscode.NotebookCell {
    return this.execution.cell;
  }

  follow(run: CellRun): void {
    this.run = run;
    const update = (r: CellRun) => {
      if (r.state === 'running') this.start(r);
      if (r.isActive) this.throttle.schedule();
      else if (!this.finished) this.finish(r);
      else this.afterEnd(r);
    };
    run.onChange(update);
    // In case it moved on before we listened (e.g. cancelled at once).
    if (run.state !== 'queued') update(run);
  }

  /** `update_display` somewhere in the session. */
  updateDisplay(displayId: string, data: MimeBundle): void {
    if (this.plan.updateDisplay(displayId, data)) this.throttle.schedule();
  }

  private start(run: CellRun): void {
    if (this.started) return;
    this.started = true;
    this.execution.executionOrder = run.executionCount;
    this.execution.start(Date.now());
    this.enqueue(() => this.execution.clearOutput());
  }

  private finish(run: CellRun): void {
    this.finished = true;
    if (run.state === 'succeeded' || run.state === 'failed') {
      this.plan.result({ executionCount: run.executionCount!, durationMs: run.durationMs ?? 0, value: run.value, error: run.error });
    }
    const wasStarted = this.started;
    if (!this.started) {
      this.started = true;
      this.execution.start(Date.now());
    }
    this.applyOps(this.execution);
    if (run.state === 'lost') {
      const lost = this.problemOutput(run);
      this.enqueue(() => this.execution.appendOutput(lost));
    }
    const success = run.state === 'succeeded' ? true : run.state === 'cancelled' && !wasStarted ? undefined : false;
    this.enqueue(() => this.execution.end(success, Date.now()));
    void this.chain.then(() => this.resolveEnded());
  }

  // After the execution ended: late output, a display updated from another
  // cell, or the crash report arriving after the cell's answer. Only the
  // cell's latest run may still draw in it.
  private afterEnd(run: CellRun): void {
    if (latestViews.get(this.cell) !== this) return;
    if (run.crash && this.problemShown && !this.problemShown.metadata?.crash) {
      const stale = this.problemShown;
      const report = this.problemOutput(run);
      this.enqueue(() => finishedCellEdit(this.controller, this.cell, (e) => e.replaceOutputItems(report.items, stale)));
    }
    this.throttle.schedule();
  }

  private problemOutput(run: CellRun): vscode.NotebookCellOutput {
    const item = vscode.NotebookCellOutputItem.error(problemOutput(run.problem, run.crash));
    this.problemShown = new vscode.NotebookCellOutput([item], { outputType: 'error', crash: !!run.crash });
    return this.problemShown;
  }

  private flush(): void {
    if (!this.finished) return this.applyOps(this.execution);
    if (latestViews.get(this.cell) !== this) return;
    const ops = this.plan.flush();
    if (ops.length) this.enqueue(() => finishedCellEdit(this.controller, this.cell, (execution) => this.applyAll(ops, execution)));
  }

  private applyOps(execution: vscode.NotebookCellExecution): void {
    for (const op of this.plan.flush()) this.enqueue(() => this.apply(op, execution));
  }

  private async applyAll(ops: NotebookOp[], execution: vscode.NotebookCellExecution): Promise<void> {
    for (const op of ops) await this.apply(op, execution);
  }

  // Output edits are asynchronous; keep them in order.
  private enqueue(step: () => Thenable<void> | void): void {
    this.chain = this.chain.then(step).then(
      () => undefined,
      () => undefined, // the notebook was closed meanwhile: nothing left to draw
    );
  }

  private apply(op: NotebookOp, execution: vscode.NotebookCellExecution): Thenable<void> {
    switch (op.kind) {
      case 'clear':
        this.outputs = [];
        return execution.clearOutput();
      case 'add-stream':
        return this.add(op.index, new vscode.NotebookCellOutput([streamItem(op.stream, op.text)], { outputType: 'stream' }), execution);
      case 'append-stream':
        return execution.appendOutputItems(streamItem(op.stream, op.text), this.outputs[op.index]);
      case 'replace-stream':
        return execution.replaceOutputItems(streamItem(op.stream, op.text), this.outputs[op.index]);
      case 'add-display':
        return this.add(op.index, new vscode.NotebookCellOutput(displayItems(op.data), this.displayMetadata(op)), execution);
      case 'replace-display':
        return execution.replaceOutputItems(displayItems(op.data), this.outputs[op.index]);
      case 'add-error': {
        const item = vscode.NotebookCellOutputItem.error({ name: op.error.type, message: op.error.message, stack: this.options.traceback(op.error) });
        return this.add(op.index, new vscode.NotebookCellOutput([item], { outputType: 'error' }), execution);
      }
    }
  }

  private add(index: number, output: vscode.NotebookCellOutput, execution: vscode.NotebookCellExecution): Thenable<void> {
    this.outputs[index] = output;
    return execution.appendOutput(output);
  }

  // As Jupyter stores it: a display id is transient (not saved with the notebook).
  private displayMetadata(op: { result: boolean; displayId?: string }): Record<string, unknown> {
    if (op.result) return { outputType: 'execute_result', executionCount: this.plan.executionCount };
    return op.displayId ? { outputType: 'display_data', transient: { display_id: op.displayId } } : { outputType: 'display_data' };
  }
}

function displayItems(data: MimeBundle): vscode.NotebookCellOutputItem[] {
  return bundleItems(data).map((item) => new vscode.NotebookCellOutputItem(item.data, item.mime));
}

function streamItem(stream: 'stdout' | 'stderr', text: string): vscode.NotebookCellOutputItem {
  return stream === 'stdout' ? vscode.NotebookCellOutputItem.stdout(text) : vscode.NotebookCellOutputItem.stderr(text);
}
