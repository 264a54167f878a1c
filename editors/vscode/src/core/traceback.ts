// From a cell's Python error to places in the document. The server gives
// lines relative to each cell's code (1-based) and tags every frame that is
// in a cell of the session with the client's cell id; the client knows where
// each run's code sits (its region, which follows edits), so
//   document line = region.firstLine + cellLine - 1   (0-based)
// Frames of other cells of the same document (a function defined in an
// earlier cell) carry that cell's id and map the same way.
//
// The place is the outermost error's (the one the cell raised last); the
// exceptions chained to it and the members of an ExceptionGroup are related
// places, each at its innermost frame in the document.

import { CodeRegion } from './cellRun';
import { CellId, ErrorLink, Frame, PythonError } from './protocol';

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
  /** The exception's `add_note()` notes. */
  notes: string[];
  /** Where the error points in this document (the innermost place). */
  primary?: ErrorPlace;
  /** The other frames in this document, outermost first: the call chain. */
  related: ErrorPlace[];
  /** Where the chained exceptions and the group's members were raised. */
  linked: ErrorPlace[];
}

/** The run an error came from: where to put an error that has no frame in a cell. */
export interface ErrorOrigin {
  region?: CodeRegion;
  code: string;
}

/** Finds the code region of a run by its cell id or execution count. */
export type LocateCell = (cell: CellId | undefined, executionCount: number | undefined) => CodeRegion | undefined;

export function errorSummary(error: { type: string; message: string }): string {
  return error.message ? `${error.type}: ${error.message}` : error.type;
}

function place(region: CodeRegion, cellLine: number): number {
  return region.firstLine + cellLine - 1;
}

function frameLabel(frame: Frame): string {
  const where = frame.function === '<module>' ? 'cell code' : `in ${frame.function}`;
  return frame.source ? `${where}: ${frame.source}` : where;
}

function framePlaces(frames: Frame[], locate: LocateCell): ErrorPlace[] {
  const places: ErrorPlace[] = [];
  for (const frame of frames) {
    if (frame.line === null) continue;
    const region = locate(frame.cell, frame.executionCount);
    if (region) places.push({ position: { line: place(region, frame.line) }, label: frameLabel(frame) });
  }
  return places;
}

/** How a chained exception leads to the next one, as the traceback says it. */
export function linkLabel(link: ErrorLink): string {
  const what = errorSummary(link);
  if (link.relation === 'cause') return `direct cause: ${what}`;
  if (link.relation === 'context') return `raised while handling: ${what}`;
  return `in the group: ${what}`;
}

// Each chained exception and group member (members of members too) at its innermost frame here.
function linkedPlaces(error: PythonError, locate: LocateCell): ErrorPlace[] {
  const places: ErrorPlace[] = [];
  const visit = (link: ErrorLink) => {
    const innermost = framePlaces(link.frames, locate).pop();
    if (innermost) places.push({ position: innermost.position, label: linkLabel(link) });
    for (const member of link.exceptions ?? []) visit(member);
  };
  for (const link of error.chain ?? []) visit(link);
  for (const member of error.exceptions ?? []) visit(member);
  return places;
}

// An error with no frame in a cell (the server refused the cell before it
// ran, e.g. an import that needs a process): the line that imports one of
// the modules it names, else the cell's first line.
function originPlace(error: PythonError, origin: ErrorOrigin): DocPosition | undefined {
  if (!origin.region) return undefined;
  const modules = error.suggestion?.modules ?? [];
  const lines = origin.code.split('\n');
  const imports = modules.map((m) => new RegExp(`\\b(import|from)\\s+([\\w.]+\\s*,\\s*)*${m.replace(/\./g, '\\.')}\\b`));
  const at = lines.findIndex((line) => imports.some((pattern) => pattern.test(line)));
  return { line: origin.region.firstLine + Math.max(at, 0) };
}

export function mapError(error: PythonError, locate: LocateCell, origin?: ErrorOrigin): MappedError {
  const summary = errorSummary(error);
  const related = framePlaces(error.frames, locate);

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
  } else if (origin) {
    const position = originPlace(error, origin);
    if (position) primary = { position, label: summary };
  }
  // The primary place is the diagnostic itself; list the rest of the chain.
  const rest = related.filter((r) => !primary || r.position.line !== primary.position.line);
  return { summary, notes: error.notes ?? [], primary, related: rest, linked: linkedPlaces(error, locate) };
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
