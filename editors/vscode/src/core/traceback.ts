// From a cell's Python error to places in the document. The server gives
// lines relative to each cell's code (1-based) and tags every frame that is
// in a cell of the session with the client's cell id; the client knows where
// each run's code sits (its region, which follows edits), so
//   document line = region.firstLine + cellLine - 1   (0-based)
// Frames of other cells of the same document (a function defined in an
// earlier cell) carry that cell's id and map the same way.

import { CodeRegion } from './cellRun';
import { CellId, Frame, PythonError } from './protocol';

export interface DocPosition {
  line: number;
  /** 0-based columns, known for syntax errors. */
  character?: number;
  endLine?: number;
  endCharacter?: number;
}

export interface ErrorPlace {
  position: DocPosition;
  /** What to say at this place: the frame's function and source. */
  label: string;
}

export interface MappedError {
  /** "ZeroDivisionError: division by zero" */
  summary: string;
  /** Where the error points in this document (the innermost place). */
  primary?: ErrorPlace;
  /** The other frames in this document, outermost first: the call chain. */
  related: ErrorPlace[];
}

/** Finds the code region of a run by its cell id or execution count. */
export type LocateCell = (cell: CellId | undefined, executionCount: number | undefined) => CodeRegion | undefined;

export function errorSummary(error: PythonError): string {
  return error.message ? `${error.type}: ${error.message}` : error.type;
}

function place(region: CodeRegion, cellLine: number): number {
  return region.firstLine + cellLine - 1;
}

function frameLabel(frame: Frame): string {
  const where = frame.function === '<module>' ? 'cell code' : `in ${frame.function}`;
  return frame.source ? `${where}: ${frame.source}` : where;
}

export function mapError(error: PythonError, locate: LocateCell): MappedError {
  const summary = errorSummary(error);
  const related: ErrorPlace[] = [];
  for (const frame of error.frames) {
    if (frame.line === null) continue;
    const region = locate(frame.cell, frame.executionCount);
    if (region) related.push({ position: { line: place(region, frame.line) }, label: frameLabel(frame) });
  }

  let primary: ErrorPlace | undefined;
  const location = error.location;
  const region = location && locate(location.cell, location.executionCount);
  if (location && region) {
    const position: DocPosition = { line: place(region, location.line) };
    if (location.column !== undefined) position.character = location.column - 1;
    if (location.endLine !== undefined) position.endLine = place(region, location.endLine);
    if (location.endColumn !== undefined) position.endCharacter = location.endColumn - 1;
    primary = { position, label: summary };
  } else if (related.length) {
    // No location (e.g. the error was raised outside any cell): the
    // innermost frame in this document is the best place.
    primary = { position: related[related.length - 1].position, label: summary };
  }
  // The primary place is the diagnostic itself; list the rest of the chain.
  const rest = related.filter((r) => !primary || r.position.line !== primary.position.line);
  return { summary, primary, related: rest };
}

/**
 * Rewrites `File "<cell N>", line L` in a traceback text with `describe`
 * (e.g. the document's path and line, or `Cell In[N]`); frames it cannot
 * describe stay as they are.
 */
export function rewriteTraceback(traceback: string, describe: (executionCount: number, line: number) => string | undefined): string {
  return traceback.replace(/File "<cell (\d+)>", line (\d+)/g, (whole, count: string, line: string) => {
    return describe(Number(count), Number(line)) ?? whole;
  });
}
