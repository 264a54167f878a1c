// The outputs of one notebook cell run, as Jupyter lays them out: consecutive
// writes to one stream share a stream output, a display or a stream switch
// starts a new output, the value and the error come last. Streams keep their
// colours (notebooks render ANSI) and get terminal treatment (`\r`, caps).
//
// The vscode layer calls `flush()` every so often while the cell runs and
// applies the operations to the real NotebookCellOutputs by index: mostly
// appends, a replace only when a line it already drew was rewritten or a
// display was updated (`update_display`). `clear_output()` empties the plan
// (at once, or when the next output comes: `wait=True`); the next flush
// starts with one `clear`, however many clears came since the last, so a
// progress bar redrawn with clears shows one live output, never a pile.

import { CrashedParams, MimeBundle, PythonError, RunResult } from './protocol';
import { Failure } from './result';
import { RunSink } from './serverSupervisor';
import { TerminalText } from './terminalText';

export type NotebookOp =
  | { kind: 'add-stream'; index: number; stream: 'stdout' | 'stderr'; text: string }
  | { kind: 'append-stream'; index: number; stream: 'stdout' | 'stderr'; text: string }
  | { kind: 'replace-stream'; index: number; stream: 'stdout' | 'stderr'; text: string }
  | { kind: 'add-display'; index: number; data: MimeBundle; result: boolean; displayId?: string }
  | { kind: 'replace-display'; index: number; data: MimeBundle; result: boolean; displayId?: string }
  | { kind: 'add-error'; index: number; error: PythonError }
  /** Remove every output of the cell; the indices start again at 0. */
  | { kind: 'clear' };

type PlannedOutput =
  | { kind: 'stream'; stream: 'stdout' | 'stderr'; buffer: TerminalText; emitted: boolean; dirty: boolean }
  | { kind: 'display'; data: MimeBundle; result: boolean; displayId?: string; emitted: boolean; dirty: boolean }
  | { kind: 'error'; error: PythonError; emitted: boolean };

export interface NotebookOutputOptions {
  /** Characters of a stream kept in the notebook (older lines are dropped). */
  maxStreamChars?: number;
}

const defaultMaxStreamChars = 1024 * 1024;

/** The error output of a cell that got no result: the shape of a notebook error item. */
export interface ProblemOutput {
  name: string;
  message: string;
  stack: string;
}

/**
 * What a notebook cell shows when the server died under it or never started:
 * one plain sentence. Not an `Error` object: its stack would be the
 * extension's own JavaScript frames, which the notebook's error renderer
 * prints under the message. With no name and no stack it prints the message
 * alone.
 */
export function problemOutput(problem: Failure | undefined, crash?: CrashedParams): ProblemOutput {
  if (crash || problem?.kind === 'crashed') return crashOutput(crash);
  let message = 'The subcell server stopped before this cell finished: the session and its variables are gone. Run the cell again to start a fresh session.';
  if (problem?.kind === 'spawn-failed') message = `The subcell server did not start: ${problem.message.split('\n')[0]}`;
  else if (problem && problem.kind !== 'server-gone') message = problem.message;
  return { name: '', message, stack: '' };
}

/** The session crashed under the cell: why, then the worker's last stderr lines (Python's faulthandler dump). */
function crashOutput(crash: CrashedParams | undefined): ProblemOutput {
  const why = crash ? ` (${crash.message})` : '';
  const message = `The session crashed${why}: its variables are gone. Run the cell again to start a fresh session.`;
  const stderr = crash?.stderr.trim();
  return { name: '', message, stack: stderr ? `${message}\n\n${stderr}` : '' };
}

export class NotebookOutputPlan implements RunSink {
  private outputs: PlannedOutput[] = [];
  private executionCountValue: number | undefined;
  private clearPending = false;
  /** Outputs were drawn, then cleared: the next flush starts with a clear. */
  private clearedShown = false;
  private readonly maxStreamChars: number;

  constructor(options: NotebookOutputOptions = {}) {
    this.maxStreamChars = options.maxStreamChars ?? defaultMaxStreamChars;
  }

  get executionCount(): number | undefined {
    return this.executionCountValue;
  }

  started(executionCount: number): void {
    this.executionCountValue = executionCount;
  }

  write(stream: 'stdout' | 'stderr', text: string): void {
    this.clearIfPending();
    const last = this.outputs[this.outputs.length - 1];
    if (last?.kind === 'stream' && last.stream === stream) {
      last.buffer.write(text);
      last.dirty = true;
      return;
    }
    const buffer = new TerminalText({ keepStyles: true, maxChars: this.maxStreamChars });
    buffer.write(text);
    this.outputs.push({ kind: 'stream', stream, buffer, emitted: false, dirty: true });
  }

  display(data: MimeBundle, displayId?: string): void {
    this.clearIfPending();
    this.outputs.push({ kind: 'display', data, result: false, displayId, emitted: false, dirty: false });
  }

  /** `update_display`: true when this cell shows that display (it is then redrawn). */
  updateDisplay(displayId: string, data: MimeBundle): boolean {
    let found = false;
    for (const output of this.outputs) {
      if (output.kind !== 'display' || output.displayId !== displayId) continue;
      output.data = data;
      output.dirty = output.emitted;
      found = true;
    }
    return found;
  }

  /** `clear_output(wait)`. */
  clear(wait: boolean): void {
    if (wait) this.clearPending = true;
    else this.clearNow();
  }

  /** The cell's result: its value as an execute result, or its error. */
  result(result: RunResult): void {
    this.executionCountValue = result.executionCount;
    if (result.value || result.error) this.clearIfPending();
    if (result.value) this.outputs.push({ kind: 'display', data: result.value, result: true, emitted: false, dirty: false });
    if (result.error) this.outputs.push({ kind: 'error', error: result.error, emitted: false });
  }

  private clearIfPending(): void {
    if (this.clearPending) this.clearNow();
  }

  private clearNow(): void {
    this.clearPending = false;
    if (this.outputs.some((o) => o.emitted)) this.clearedShown = true;
    this.outputs = [];
  }

  /** What changed since the last flush, in output order. */
  flush(): NotebookOp[] {
    const ops: NotebookOp[] = [];
    if (this.clearedShown) ops.push({ kind: 'clear' });
    this.clearedShown = false;
    this.outputs.forEach((output, index) => {
      switch (output.kind) {
        case 'stream': {
          if (!output.dirty) return;
          const changes = output.buffer.takeChanges();
          output.dirty = false;
          if (!output.emitted) {
            output.emitted = true;
            ops.push({ kind: 'add-stream', index, stream: output.stream, text: changes.text });
          } else if (changes.replace) {
            ops.push({ kind: 'replace-stream', index, stream: output.stream, text: changes.text });
          } else if (changes.text) {
            ops.push({ kind: 'append-stream', index, stream: output.stream, text: changes.text });
          }
          return;
        }
        case 'display': {
          const { data, result, displayId } = output;
          if (!output.emitted) ops.push({ kind: 'add-display', index, data, result, displayId });
          else if (output.dirty) ops.push({ kind: 'replace-display', index, data, result, displayId });
          output.emitted = true;
          output.dirty = false;
          return;
        }
        case 'error':
          if (output.emitted) return;
          output.emitted = true;
          ops.push({ kind: 'add-error', index, error: output.error });
          return;
      }
    });
    return ops;
  }
}

/**
 * Replays operations into a list of plain outputs: what a notebook shows.
 * The tests use it to assert what a user sees; the capture script too.
 */
export function applyOps(
  shown: Array<{ kind: string; text: string }>,
  ops: NotebookOp[],
): Array<{ kind: string; text: string }> {
  for (const op of ops) {
    switch (op.kind) {
      case 'add-stream':
        shown[op.index] = { kind: op.stream, text: op.text };
        break;
      case 'append-stream':
        shown[op.index].text += op.text;
        break;
      case 'replace-stream':
        shown[op.index].text = op.text;
        break;
      case 'add-display':
      case 'replace-display':
        shown[op.index] = { kind: op.result ? 'result' : 'display', text: op.data['text/plain'] };
        break;
      case 'clear':
        shown.length = 0;
        break;
      case 'add-error':
        shown[op.index] = { kind: 'error', text: `${op.error.type}: ${op.error.message}` };
        break;
    }
  }
  return shown;
}
