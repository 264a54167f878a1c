// One run of one cell, from queued to its result: what the inline view, the
// output document and the diagnostics draw. Output from both streams goes
// into one terminal-like buffer, interleaved as a terminal would show it;
// `display()` objects are blocks of their own there (runOutput.ts), which
// `update_display` replaces and `clear_output` removes. Output a thread
// writes after the cell finished still arrives here (late output).

import { CrashedParams, MimeBundle, PythonError, RunResult } from './protocol';
import { Failure } from './result';
import { RunOutput } from './runOutput';
import { RunSink } from './serverSupervisor';

export type RunState =
  | 'queued'
  | 'running'
  /** Ran to the end: `value` may be set. */
  | 'succeeded'
  /** Raised: `error` is set. */
  | 'failed'
  /** Never ran, or was stopped by the client: `problem` says why. */
  | 'cancelled'
  /** The server died or refused the request: `problem` says why. */
  | 'lost';

/** Where the run's code sits in its document: 0-based lines. */
export interface CodeRegion {
  firstLine: number;
  lineCount: number;
}

export interface CellRunOptions {
  id: string;
  code: string;
  region?: CodeRegion;
  title?: string;
  /** Scrollback kept for the output views, in characters. */
  maxOutputChars?: number;
}

let runCounter = 0;

/** A cell id unique in this extension host, sent as the protocol's `cell`. */
export function nextCellId(): string {
  return `c${++runCounter}`;
}

export class CellRun implements RunSink {
  readonly id: string;
  readonly code: string;
  readonly title: string;
  region: CodeRegion | undefined;
  state: RunState = 'queued';
  executionCount: number | undefined;
  durationMs: number | undefined;
  value: MimeBundle | null = null;
  error: PythonError | null = null;
  problem: Failure | undefined;
  /** Set when the session crashed under this run: why, and its last stderr lines. */
  crash: CrashedParams | undefined;
  output: RunOutput;
  displays = 0;
  readonly queuedAt = Date.now();
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** The later run of the same cell that replaced this one in the views. */
  supersededBy: CellRun | undefined;
  private readonly listeners: Array<(run: CellRun) => void> = [];

  constructor(options: CellRunOptions) {
    this.id = options.id;
    this.code = options.code;
    this.region = options.region;
    this.title = options.title ?? '';
    this.output = new RunOutput(options.maxOutputChars);
  }

  get isActive(): boolean {
    return this.state === 'queued' || this.state === 'running';
  }

  /** The run to show in place of this one: the latest of its cell. */
  get latest(): CellRun {
    let run: CellRun = this;
    while (run.supersededBy) run = run.supersededBy;
    return run;
  }

  onChange(listener: (run: CellRun) => void): void {
    this.listeners.push(listener);
  }

  started(executionCount: number): void {
    this.state = 'running';
    this.executionCount = executionCount;
    this.startedAt = Date.now();
    this.changed();
  }

  write(_stream: 'stdout' | 'stderr', text: string): void {
    this.output.write(text);
    this.changed();
  }

  display(data: MimeBundle, displayId?: string): void {
    this.displays++;
    this.output.display(data, displayId);
    this.changed();
  }

  /** `update_display` somewhere in the session: true when this run showed that display. */
  updateDisplay(displayId: string, data: MimeBundle): boolean {
    if (!this.output.updateDisplay(displayId, data)) return false;
    this.changed();
    return true;
  }

  clear(wait: boolean): void {
    this.output.clear(wait);
    this.changed();
  }

  /** The session crashed while this run was running or queued. */
  crashed(crash: CrashedParams): void {
    this.crash = crash;
    this.changed();
  }

  finish(result: RunResult): void {
    this.executionCount = result.executionCount;
    this.durationMs = result.durationMs;
    this.value = result.value;
    this.error = result.error;
    this.state = result.error ? 'failed' : 'succeeded';
    this.endedAt = Date.now();
    this.changed();
  }

  /** The run ended without a result: cancelled, or its server is gone. */
  abandon(state: 'cancelled' | 'lost', problem: Failure): void {
    if (!this.isActive) return;
    this.state = state;
    this.problem = problem;
    this.endedAt = Date.now();
    this.changed();
  }

  /** Frees the output of a run nobody shows any more. */
  releaseOutput(): void {
    this.output = new RunOutput(0);
  }

  private changed(): void {
    for (const listener of this.listeners) listener(this);
  }
}
