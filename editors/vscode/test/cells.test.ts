import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cellAt, cellsAbove, cellsFrom, hasCellMarkers, nextCellLine, parseCells, runnable, selectionAsCode } from '../src/core/cells';
import { readFixture } from './helpers';

const demo = readFixture('demo.py');

test('a # %% file splits into the cells a user sees, with titles and tags', () => {
  const cells = parseCells(demo);
  assert.deepEqual(
    cells.map((c) => [c.title, c.markdown, c.reset]),
    [
      ['', false, false], // the comment before the first marker
      ['streaming output', false, false],
      ['a value', false, false],
      ['a helper that fails when it is called', false, false],
      ['calls the helper from another cell', false, false],
      ['a syntax error', false, false],
      ['a progress bar', false, false],
      ['', true, false],
      ['a fresh namespace', false, true],
    ],
  );
});

test('each cell knows the document line its code starts at (0-based)', () => {
  const cells = parseCells(demo);
  const value = cells[2];
  assert.equal(value.markerLine, 9); // "# %% a value" is line 10 in an editor
  assert.equal(value.codeStartLine, 10);
  assert.equal(value.codeLineCount, 2);
  assert.equal(value.code, 'x = 21\nx * 2\n');
  // Trailing blank lines are not sent; the cell still owns them.
  assert.equal(value.endLine, 12);
});

test('leading blank lines are skipped so cell line 1 is the first code line', () => {
  const cells = parseCells('# %%\n\n\nprint(1)\n\n# %%\nx\n');
  assert.equal(cells[0].codeStartLine, 3);
  assert.equal(cells[0].code, 'print(1)\n');
  assert.equal(cells[1].codeStartLine, 6);
});

test('code before the first marker is a cell only when it is not blank', () => {
  assert.equal(parseCells('\n\n# %%\nx\n').length, 1);
  const cells = parseCells('import os\n# %%\nx\n');
  assert.equal(cells.length, 2);
  assert.equal(cells[0].markerLine, -1);
  assert.equal(cells[0].code, 'import os\n');
});

test('markers: "#%%", indented markers and CRLF files', () => {
  assert.ok(hasCellMarkers('x = 1\n  #%% two\n'));
  assert.ok(!hasCellMarkers('x = "# %%"\n'));
  const cells = parseCells('# %% one\r\na = 1\r\n#%% two\r\nb = 2\r\n');
  assert.deepEqual(cells.map((c) => c.code), ['a = 1\n', 'b = 2\n']);
});

test('the cell under the cursor, the cells below and above, and the next one', () => {
  const cells = parseCells(demo);
  const cursorCell = cellAt(cells, 15)!; // inside "def divide"
  assert.equal(cursorCell.title, 'a helper that fails when it is called');
  assert.equal(cellAt(cells, 12)!.title, 'a value', 'a blank line after a cell belongs to it');
  // Above: the file's header comment has nothing to run.
  assert.deepEqual(cellsAbove(cells, cursorCell).map((c) => c.index), [1, 2]);
  // Below: the markdown cell is skipped.
  assert.deepEqual(cellsFrom(cells, cursorCell).map((c) => c.title), [
    'a helper that fails when it is called',
    'calls the helper from another cell',
    'a syntax error',
    'a progress bar',
    'a fresh namespace',
  ]);
  assert.equal(nextCellLine(cells, cursorCell), 18);
  assert.equal(nextCellLine(cells, cells[cells.length - 1]), undefined);
  assert.equal(runnable(cells).length, 7);
});

test('a selection runs with its common indentation removed', () => {
  assert.equal(selectionAsCode('    x = 1\n    if x:\n        print(x)'), 'x = 1\nif x:\n    print(x)\n');
});
