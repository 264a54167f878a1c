// Splits a Python document into cells at `# %%` markers (the "percent
// format" of VS Code, Spyder and Jupytext), the same way `subcell run` does
// (src/cli/cell_parser.cpp), so a file behaves alike in the terminal and in
// the editor.
//
//   # %% optional title            a code cell
//   # %% [markdown]                a markdown cell (never run)
//   # %% [reset] optional title    reset the session before running the cell
//
// Code before the first marker is a cell of its own when it is not blank.
// Lines are 0-based here, as in VS Code; the server's are 1-based and
// cell-relative (see traceback.ts).

export interface Cell {
  /** Position of the cell in the document, from 0. */
  index: number;
  /** Line of the `# %%` marker, or -1 for code before the first marker. */
  markerLine: number;
  /** Line of the code's first line (leading blank lines skipped). */
  codeStartLine: number;
  /** Number of code lines sent to the server (trailing blank lines dropped). */
  codeLineCount: number;
  /** Last line that belongs to the cell (the line before the next marker). */
  endLine: number;
  title: string;
  code: string;
  markdown: boolean;
  reset: boolean;
}

const markerPattern = /^\s*#[ \t]*%%/;

export function isCellMarker(line: string): boolean {
  return markerPattern.test(line);
}

/** Cheap check, used to set the `subcell.hasCells` context key on every edit. */
export function hasCellMarkers(text: string): boolean {
  return /^[ \t]*#[ \t]*%%/m.test(text);
}

export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

interface MarkerInfo {
  title: string;
  markdown: boolean;
  reset: boolean;
}

// Reads the text after `# %%`: bracketed tags and a title.
function readMarker(line: string): MarkerInfo {
  const rest = line.slice(line.indexOf('%%') + 2);
  const info: MarkerInfo = { title: '', markdown: false, reset: false };
  const words: string[] = [];
  for (const part of rest.split(/(\[[^\]]*\])/)) {
    const tag = /^\[([^\]]*)\]$/.exec(part);
    if (tag) {
      const name = tag[1].trim();
      if (name === 'markdown' || name === 'md') info.markdown = true;
      if (name === 'reset') info.reset = true;
    } else if (part.trim() !== '') {
      words.push(part.trim());
    }
  }
  info.title = words.join(' ');
  return info;
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

export function parseCells(text: string): Cell[] {
  const lines = splitLines(text);
  const cells: Cell[] = [];
  let markerLine = -1;
  let marker: MarkerInfo = { title: '', markdown: false, reset: false };
  let bodyStart = 0;

  const flush = (endLine: number) => {
    let first = bodyStart;
    let last = endLine;
    while (first <= last && isBlank(lines[first])) first++;
    while (last >= first && isBlank(lines[last])) last--;
    const codeLines = first <= last ? lines.slice(first, last + 1) : [];
    if (markerLine < 0 && codeLines.length === 0) return;
    cells.push({
      index: cells.length,
      markerLine,
      codeStartLine: first <= last ? first : bodyStart,
      codeLineCount: codeLines.length,
      endLine: Math.max(endLine, markerLine),
      title: marker.title,
      code: codeLines.length ? codeLines.join('\n') + '\n' : '',
      markdown: marker.markdown,
      reset: marker.reset,
    });
  };

  // A trailing newline does not open an extra line of its own.
  const lastLine = lines.length > 1 && lines[lines.length - 1] === '' ? lines.length - 2 : lines.length - 1;
  for (let i = 0; i <= lastLine; i++) {
    if (!isCellMarker(lines[i])) continue;
    flush(i - 1);
    markerLine = i;
    marker = readMarker(lines[i]);
    bodyStart = i + 1;
  }
  flush(lastLine);
  return cells;
}

/** The cell that contains `line`, or undefined above the first cell. */
export function cellAt(cells: readonly Cell[], line: number): Cell | undefined {
  let found: Cell | undefined;
  for (const cell of cells) {
    const start = cell.markerLine >= 0 ? cell.markerLine : 0;
    if (start <= line) found = cell;
    else break;
  }
  return found;
}

/** Whether the cell has code to run: not markdown, not only comments. */
export function hasCode(cell: Cell): boolean {
  return !cell.markdown && splitLines(cell.code).some((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

/** Cells that can run: markdown cells and cells of only comments (a file's header) are skipped. */
export function runnable(cells: readonly Cell[]): Cell[] {
  return cells.filter(hasCode);
}

/** `cell` and every cell below it. */
export function cellsFrom(cells: readonly Cell[], cell: Cell): Cell[] {
  return runnable(cells.slice(cell.index));
}

/** Every cell strictly above `cell`. */
export function cellsAbove(cells: readonly Cell[], cell: Cell): Cell[] {
  return runnable(cells.slice(0, cell.index));
}

/** The first line of the next cell's code, for "run and advance". */
export function nextCellLine(cells: readonly Cell[], cell: Cell): number | undefined {
  const next = cells[cell.index + 1];
  if (!next) return undefined;
  return next.codeLineCount > 0 ? next.codeStartLine : next.markerLine + 1;
}

/**
 * A selection as a cell: common indentation removed so that an indented
 * block can run on its own, lines kept so errors still map to the document.
 */
export function selectionAsCode(selectedText: string): string {
  const lines = splitLines(selectedText);
  const indents = lines.filter((l) => !isBlank(l)).map((l) => /^[ \t]*/.exec(l)![0].length);
  const common = indents.length ? Math.min(...indents) : 0;
  const code = lines.map((l) => l.slice(Math.min(common, /^[ \t]*/.exec(l)![0].length))).join('\n');
  return code.endsWith('\n') ? code : code + '\n';
}
