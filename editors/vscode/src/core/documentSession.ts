// The session of one document (a `# %%` file, a notebook, an interactive
// window): opened on the first run, closed with the document, reopened on a
// new server after a crash. Cells are queued here and sent one at a time, so
// that "run all" can stop at the first error and an interrupt can drop what
// has not been sent yet.
//
// The session can be restarted elsewhere (in a process, in an interpreter,
// on another Python: sessionPlacement.ts keeps the user's choice), can crash
// by itself (a process session's worker died: its runs say so), and can be
// moved by the server (an `auto` session that imports numpy). Listeners hear
// about each, and about displays updated anywhere in the session.

import { Cell } from './cells';
import { CellRun, CodeRegion, nextCellId } from './cellRun';
import { CellId, ChangedParams, CloseResult, CrashedParams, Isolation, MimeBundle, OpenResult, ResetResult } from './protocol';
import { fail, Failure, ok, Result } from './result';
import { RunHistory } from './runHistory';
import { PlacementDefaults, PythonChoice, SessionPlacement } from './sessionPlacement';
import { OpenedSession, RunSink, ServerLoss, ServerSupervisor, SessionListener } from './serverSupervisor';
import { LocateCell, mapError, MappedError, rewriteTraceback } from './traceback';

export interface CellToRun {
  code: string;
  /** Where the code sits in the document, for errors and inline output. */
  region?: CodeRegion;
  title?: string;
  /** Reset the session before this cell (a `# %% [reset]` cell). */
  reset?: boolean;
  /** Also receives the run's output, e.g. a notebook output plan. */
  sink?: RunSink;
}

/** A parsed `# %%` cell as something to run. */
export function cellToRun(cell: Cell): CellToRun {
  return {
    code: cell.code,
    region: { firstLine: cell.codeStartLine, lineCount: cell.codeLineCount },
    title: cell.title,
    reset: cell.reset,
  };
}

export interface DocumentSessionOptions {
  supervisor: ServerSupervisor;
  /** Shown by `session/list`: the document's file name. */
  name: string;
  /** The document's folder: put first on the session's sys.path. */
  cwd?: string;
  /** A failing cell cancels the cells queued after it in the same batch. */
  stopOnError?: boolean;
  /** Scrollback kept per run for the output views, in characters. */
  maxOutputChars?: number;
  /** Isolation, limits and Python for new sessions (the settings). */
  placement?: () => PlacementDefaults;
}

/** What happened to the document's session as a whole. */
export type SessionEvent =
  /** Opened, restarted or moved: where it runs now. */
  | { kind: 'placed'; result: OpenResult }
  | { kind: 'crashed'; crash: CrashedParams }
  | { kind: 'changed'; change: ChangedParams }
  /** `update_display`: every output shown with `displayId` shows `data` now. */
  | { kind: 'display'; displayId: string; data: MimeBundle }
  /** The session ended (closed, crashed, lost with the server). */
  | { kind: 'ended' }
  /** Closing it did not end it cleanly: `session/close` said parked, abandoned or killed. */
  | { kind: 'unclean-close'; how: CloseResult['interpreter'] };

interface Batch {
  stopped: boolean;
  reason?: string;
}

interface Job {
  run: CellRun;
  cell: CellToRun;
  batch: Batch;
  cancelled: boolean;
}

export class DocumentSession {
  readonly history = new RunHistory();
  readonly placement: SessionPlacement;
  private opened: OpenedSession | undefined;
  private opening: Promise<Result<OpenedSession>> | undefined;
  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private pumping = false;
  private closed = false;
  /** The session the current job was sent to. */
  private runningIn: string | undefined;
  /** A run whose request failed with SessionCrashed before the crash report came. */
  private crashVictim: CellRun | undefined;
  private readonly listeners: Array<(run: CellRun) => void> = [];
  private readonly sessionListeners: Array<(event: SessionEvent) => void> = [];
  private readonly unsubscribe: () => void;

  constructor(private readonly options: DocumentSessionOptions) {
    this.placement = new SessionPlacement(options.placement);
    this.unsubscribe = options.supervisor.onLoss((loss) => this.onLoss(loss));
  }

  get name(): string {
    return this.options.name;
  }

  /** The server's id for this session while it is open. */
  get sessionId(): string | undefined {
    return this.live?.session;
  }

  /** The open session on the running server, if any. */
  get live(): OpenedSession | undefined {
    return this.options.supervisor.isLive(this.opened) ? this.opened : undefined;
  }

  /** Where the open session runs, and on which Python. */
  get where(): OpenResult | undefined {
    return this.live?.result;
  }

  get isBusy(): boolean {
    return this.queue.length > 0 || (this.current !== undefined && this.current.run.isActive);
  }

  /** Called whenever a run of this document changes (queued, output, result). */
  onRunChange(listener: (run: CellRun) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  /** Called when the session opens, moves, crashes, ends, or updates a display. */
  onSessionEvent(listener: (event: SessionEvent) => void): () => void {
    this.sessionListeners.push(listener);
    return () => this.sessionListeners.splice(this.sessionListeners.indexOf(listener), 1);
  }

  /**
   * Queues cells to run in order. The runs exist at once (queued), so views
   * can show them; `done` settles when the last one has finished.
   */
  run(cells: CellToRun[]): { runs: CellRun[]; done: Promise<void> } {
    const batch: Batch = { stopped: false };
    const runs = cells.map((cell) => {
      const run = new CellRun({
        id: nextCellId(),
        code: cell.code,
        region: cell.region,
        title: cell.title,
        maxOutputChars: this.options.maxOutputChars,
      });
      run.onChange((r) => this.changed(r));
      this.history.add(run);
      this.queue.push({ run, cell, batch, cancelled: false });
      this.changed(run);
      return run;
    });
    const done = this.pump().then(() => Promise.all(runs.map(settled))).then(() => undefined);
    return { runs, done };
  }

  /** Where a run of this document sits now, by the cell id or execution count a frame carries. */
  readonly locate: LocateCell = (cell: CellId | undefined, executionCount: number | undefined) => {
    const run = this.history.byCellId(cell) ?? (executionCount !== undefined ? this.history.byExecutionCount(executionCount) : undefined);
    return run?.region;
  };

  /** A failed run's error as places in the document. */
  mapError(run: CellRun): MappedError | undefined {
    return run.error ? mapError(run.error, this.locate, run) : undefined;
  }

  /**
   * The errors to mark in the document: failed runs not replaced by a later
   * run, whose raising line was not re-run since (fixing and re-running the
   * cell that defines the failing function clears the mark too).
   */
  standingErrors(): Array<{ run: CellRun; mapped: MappedError }> {
    const all = this.history.all();
    const standing: Array<{ run: CellRun; mapped: MappedError }> = [];
    all.forEach((run, index) => {
      if (run.supersededBy || run.state !== 'failed' || !run.error) return;
      const mapped = mapError(run.error, this.locate, run);
      const line = mapped.primary?.position.line;
      if (line === undefined) return;
      const rerun = all.slice(index + 1).some((later) => later.region && line >= later.region.firstLine && line < later.region.firstLine + later.region.lineCount);
      if (!rerun) standing.push({ run, mapped });
    });
    return standing;
  }

  /** The run's traceback with cell frames pointing into the document: `File "demo.py", line 16`. */
  traceback(run: CellRun, fileLabel: string): string | undefined {
    if (!run.error) return undefined;
    return rewriteTraceback(run.error.traceback, (count, line) => {
      const region = this.history.byExecutionCount(count)?.region;
      return region ? `File "${fileLabel}", line ${region.firstLine + line}` : undefined;
    });
  }

  /** Stops the running cell (KeyboardInterrupt) and drops the queued ones. */
  async interrupt(): Promise<void> {
    this.cancelQueued('cancelled', { kind: 'cancelled', message: 'not run: interrupted' });
    if (this.current) this.current.cancelled = true;
    if (this.options.supervisor.isLive(this.opened)) await this.options.supervisor.interrupt(this.opened!);
  }

  /** A fresh namespace: interrupts what runs, then `session/reset`. */
  async reset(): Promise<Result<ResetResult>> {
    await this.interrupt();
    if (!this.options.supervisor.isLive(this.opened)) return ok({ removedNames: 0, durationMs: 0 });
    return this.options.supervisor.reset(this.opened!);
  }

  /**
   * `session/restart` in `isolation` (kept for this document from now on):
   * a fresh session, its variables gone; what was queued is dropped. Without
   * an open session, the choice applies when it opens.
   */
  async restart(isolation: Isolation): Promise<Result<OpenResult | undefined>> {
    this.placement.chooseIsolation(isolation);
    await this.interrupt();
    const live = this.live;
    if (!live) return ok(undefined);
    const restarted = await this.options.supervisor.restartSession(live, isolation);
    if (!restarted.ok) return restarted;
    this.opened = restarted.value;
    this.history.forgetExecutionCounts();
    this.emit({ kind: 'placed', result: restarted.value.result });
    return ok(restarted.value.result);
  }

  /**
   * Runs the document on `python` from now on (undefined: the default,
   * `server`: the server's own Python): the
   * open session is closed and a new one opened on it at once, so a Python
   * the server cannot run is reported now. On failure the previous choice
   * stays and the session is reopened as it was.
   */
  async usePython(python: PythonChoice): Promise<Result<OpenResult>> {
    const previous = this.placement.pythonChoiceMade;
    this.placement.choosePython(python);
    await this.endSession();
    const opened = await this.ensureOpen();
    if (opened.ok) return ok(opened.value.result);
    this.placement.choosePython(previous);
    return fail(opened.failure.kind, opened.failure.message, opened.failure.code);
  }

  /** Ends the session (the document was closed). */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await this.endSession();
  }

  private async endSession(): Promise<void> {
    this.cancelQueued('cancelled', { kind: 'cancelled', message: this.closed ? 'not run: the document was closed' : 'not run: the session was restarted' });
    if (this.current) this.current.cancelled = true;
    const opened = this.opened;
    this.opened = undefined;
    if (this.options.supervisor.isLive(opened)) {
      const closed = await this.options.supervisor.closeSession(opened!);
      this.emit({ kind: 'ended' });
      if (closed.ok && closed.value.interpreter !== 'ended') this.emit({ kind: 'unclean-close', how: closed.value.interpreter });
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        this.current = job;
        await this.execute(job);
        this.current = undefined;
      }
    } finally {
      this.pumping = false;
    }
  }

  private async execute(job: Job): Promise<void> {
    const { run, cell, batch } = job;
    if (batch.stopped) return run.abandon('cancelled', { kind: 'cancelled', message: batch.reason ?? 'not run' });
    const opened = await this.ensureOpen();
    if (!opened.ok) return this.giveUp(job, opened.failure);
    if (cell.reset) {
      const reset = await this.options.supervisor.reset(opened.value);
      if (!reset.ok) return this.giveUp(job, reset.failure);
    }
    if (job.cancelled) return run.abandon('cancelled', { kind: 'cancelled', message: 'not run: interrupted' });
    this.runningIn = opened.value.session;
    const result = await this.options.supervisor.run(opened.value, cell.code, run.id, tee(run, cell.sink));
    this.runningIn = undefined;
    if (!result.ok) return this.giveUp(job, result.failure);
    run.finish(result.value);
    if (result.value.error && this.options.stopOnError) {
      batch.stopped = true;
      batch.reason = `not run: an earlier cell raised ${result.value.error.type}`;
    }
  }

  private giveUp(job: Job, failure: Failure): void {
    job.batch.stopped = true;
    if (failure.kind === 'cancelled') {
      // RequestCancelled: the server dropped the queued cell on an interrupt.
      const message = failure.code === undefined ? failure.message : 'not run: interrupted';
      job.run.abandon('cancelled', { ...failure, message });
      return;
    }
    if (failure.kind === 'unknown-session' || failure.kind === 'server-gone' || failure.kind === 'crashed') this.opened = undefined;
    if (failure.kind === 'crashed' && !job.run.crash) this.crashVictim = job.run;
    job.batch.reason = batchReason(failure);
    job.run.abandon('lost', failure.kind === 'crashed' ? { ...failure, message: 'the session crashed' } : failure);
  }

  private ensureOpen(): Promise<Result<OpenedSession>> {
    if (this.closed) return Promise.resolve({ ok: false, failure: { kind: 'cancelled', message: 'not run: the document was closed' } });
    if (this.options.supervisor.isLive(this.opened)) return Promise.resolve(ok(this.opened!));
    if (!this.opening) {
      this.opening = this.options.supervisor
        .openSession(this.placement.openParams({ name: this.options.name, cwd: this.options.cwd }))
        .then((opened) => {
          if (opened.ok) {
            this.opened = opened.value;
            this.history.forgetExecutionCounts();
            this.options.supervisor.listen(opened.value, this.sessionListener);
            this.emit({ kind: 'placed', result: opened.value.result });
          }
          return opened;
        })
        .finally(() => {
          this.opening = undefined;
        });
    }
    return this.opening;
  }

  private onLoss(loss: ServerLoss): void {
    if (!this.opened || this.opened.generation !== loss.generation) return;
    this.opened = undefined;
    this.cancelQueued('lost', { kind: 'server-gone', message: 'not run: the subcell server stopped' });
    this.emit({ kind: 'ended' });
  }

  private readonly sessionListener: SessionListener = {
    crashed: (crash) => this.onCrash(crash),
    changed: (change) => {
      if (this.opened) this.opened = { ...this.opened, result: { ...this.opened.result, isolation: change.isolation, pid: change.pid } };
      this.emit({ kind: 'changed', change });
      if (this.opened) this.emit({ kind: 'placed', result: this.opened.result });
    },
    updateDisplay: (displayId, data) => {
      for (const run of this.history.all()) run.updateDisplay(displayId, data);
      this.emit({ kind: 'display', displayId, data });
    },
  };

  // The running cell's request fails with SessionCrashed (before or after
  // this notification): its run carries the report; queued cells are lost.
  private onCrash(crash: CrashedParams): void {
    const ours = this.opened?.session === crash.session;
    const victim = this.current && this.runningIn === crash.session ? this.current.run : this.crashVictim;
    victim?.crashed(crash);
    this.crashVictim = undefined;
    if (!ours) return;
    this.opened = undefined;
    this.cancelQueued('lost', { kind: 'crashed', message: 'not run: the session crashed' });
    this.emit({ kind: 'crashed', crash });
    this.emit({ kind: 'ended' });
  }

  private emit(event: SessionEvent): void {
    for (const listener of this.sessionListeners) listener(event);
  }

  private cancelQueued(state: 'cancelled' | 'lost', problem: Failure): void {
    for (const job of this.queue.splice(0)) job.run.abandon(state, problem);
  }

  private changed(run: CellRun): void {
    for (const listener of this.listeners) listener(run);
  }
}

function batchReason(failure: Failure): string {
  if (failure.kind === 'spawn-failed') return 'not run: the server did not start';
  if (failure.kind === 'crashed') return 'not run: the session crashed';
  return 'not run: the session was lost';
}

// Sends a run's events to the run itself and to an extra sink.
function tee(run: CellRun, extra: RunSink | undefined): RunSink {
  if (!extra) return run;
  return {
    started: (count: number) => (run.started(count), extra.started(count)),
    write: (stream: 'stdout' | 'stderr', text: string) => (run.write(stream, text), extra.write(stream, text)),
    display: (data: MimeBundle, displayId?: string) => (run.display(data, displayId), extra.display(data, displayId)),
    clear: (wait: boolean) => (run.clear(wait), extra.clear(wait)),
  };
}

// Resolves when the run is no longer queued or running.
function settled(run: CellRun): Promise<void> {
  if (!run.isActive) return Promise.resolve();
  return new Promise((resolve) => run.onChange((r) => !r.isActive && resolve()));
}
