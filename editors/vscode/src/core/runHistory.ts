// The runs of one document, kept so that
// - the views show the latest run of each cell (a re-run replaces the old one),
// - a traceback frame's cell id finds the code region it came from, even
//   after lines were inserted or deleted above it (regions follow edits).

import { CellId } from './protocol';
import { CellRun, CodeRegion } from './cellRun';

/**
 * A text edit in line terms: lines `startLine..oldEndLine` became
 * `startLine..newEndLine`. `oldEndLine = startLine - 1` is a pure insertion
 * before `startLine`.
 */
export interface LineEdit {
  startLine: number;
  oldEndLine: number;
  newEndLine: number;
}

/** An editor change (0-based positions, as VS Code reports them). */
export interface TextChange {
  startLine: number;
  startCharacter: number;
  endLine: number;
  endCharacter: number;
  text: string;
}

export function lineEditOf(change: TextChange): LineEdit {
  const added = change.text.split('\n').length - 1;
  const wholeLines = change.startCharacter === 0 && change.endCharacter === 0 && (change.text === '' || change.text.endsWith('\n'));
  if (wholeLines) {
    // Lines startLine..endLine-1 were replaced by `added` whole lines, so
    // code that starts at endLine moves instead of growing.
    return { startLine: change.startLine, oldEndLine: change.endLine - 1, newEndLine: change.startLine + added - 1 };
  }
  return { startLine: change.startLine, oldEndLine: change.endLine, newEndLine: change.startLine + added };
}

const maxRemembered = 1000;

export class RunHistory {
  private runs: CellRun[] = [];
  private readonly byId = new Map<string, CellRun>();
  private readonly byCount = new Map<number, CellRun>();

  /** Records a new run; it replaces earlier runs of the same lines in the views. */
  add(run: CellRun): void {
    if (run.region) {
      for (const old of this.current()) {
        if (old.region && overlaps(old.region, run.region)) {
          old.supersededBy = run;
          if (!old.isActive) old.releaseOutput();
        }
      }
    }
    this.runs.push(run);
    this.byId.set(run.id, run);
    run.onChange((r) => {
      if (r.executionCount !== undefined) this.byCount.set(r.executionCount, r);
    });
    if (this.runs.length > maxRemembered) {
      const dropped = this.runs.shift()!;
      this.byId.delete(dropped.id);
    }
  }

  /** Runs not replaced by a later run of the same cell, oldest first. */
  current(): CellRun[] {
    return this.runs.filter((run) => !run.supersededBy);
  }

  all(): readonly CellRun[] {
    return this.runs;
  }

  byCellId(cell: CellId | undefined): CellRun | undefined {
    return cell === undefined || cell === null ? undefined : this.byId.get(String(cell));
  }

  /** The run with this execution count in the current session. */
  byExecutionCount(count: number): CellRun | undefined {
    return this.byCount.get(count);
  }

  /** A new session restarts the execution count. */
  forgetExecutionCounts(): void {
    this.byCount.clear();
  }

  /** The latest run whose code region starts within `fromLine..toLine`. */
  latestIn(fromLine: number, toLine: number): CellRun | undefined {
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const region = this.runs[i].region;
      if (region && region.firstLine >= fromLine && region.firstLine <= toLine) return this.runs[i].latest;
    }
    return undefined;
  }

  /** Moves every region as the document's lines moved. */
  applyEdit(edit: LineEdit): void {
    for (const run of this.runs) {
      if (run.region) run.region = shiftRegion(run.region, edit);
    }
  }

  clear(): void {
    this.runs = [];
    this.byId.clear();
    this.byCount.clear();
  }
}

function overlaps(a: CodeRegion, b: CodeRegion): boolean {
  const aEnd = a.firstLine + Math.max(a.lineCount, 1) - 1;
  const bEnd = b.firstLine + Math.max(b.lineCount, 1) - 1;
  return a.firstLine <= bEnd && b.firstLine <= aEnd;
}

/**
 * Where a region is after an edit. Lines below the edit move by the number
 * of lines added or removed; an edit inside the region grows or shrinks it.
 */
export function shiftRegion(region: CodeRegion, edit: LineEdit): CodeRegion {
  const delta = edit.newEndLine - edit.oldEndLine;
  if (delta === 0) return region;
  const lastLine = region.firstLine + region.lineCount - 1;
  if (edit.oldEndLine < region.firstLine) {
    return { firstLine: Math.max(0, region.firstLine + delta), lineCount: region.lineCount };
  }
  if (edit.startLine > lastLine) return region;
  // The edit touches the region: keep its start, adjust its length.
  const firstLine = Math.min(region.firstLine, Math.max(edit.startLine, 0));
  return { firstLine, lineCount: Math.max(1, region.lineCount + delta) };
}
