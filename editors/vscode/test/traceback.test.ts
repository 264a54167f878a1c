// Traceback frames (cell-relative lines) to document lines.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CodeRegion } from '../src/core/cellRun';
import { CellId, PythonError } from '../src/core/protocol';
import { lineEditOf, shiftRegion } from '../src/core/runHistory';
import { mapError, rewriteTraceback } from '../src/core/traceback';

// The example of protocol/README.md: cell "b" calls f() defined in cell "a".
const error: PythonError = {
  type: 'ZeroDivisionError',
  message: 'division by zero',
  traceback:
    'Traceback (most recent call last):\n  File "<cell 2>", line 3, in <module>\n    f()\n  File "<cell 1>", line 2, in f\n    return 1 / 0\n           ~~^~~\nZeroDivisionError: division by zero\n',
  frames: [
    { file: '<cell 2>', line: 3, function: '<module>', source: 'f()', executionCount: 2, cell: 'b' },
    { file: '<cell 1>', line: 2, function: 'f', source: 'return 1 / 0', executionCount: 1, cell: 'a' },
  ],
  location: { file: '<cell 1>', line: 2, executionCount: 1, cell: 'a' },
};

const regions: Record<string, CodeRegion> = { a: { firstLine: 10, lineCount: 2 }, b: { firstLine: 20, lineCount: 3 } };
const locate = (cell: CellId | undefined) => (cell === undefined || cell === null ? undefined : regions[String(cell)]);

test('the error sits on the line that raised, in the cell that defined the function', () => {
  const mapped = mapError(error, locate);
  assert.equal(mapped.summary, 'ZeroDivisionError: division by zero');
  assert.deepEqual(mapped.primary!.position, { line: 11 }); // region a starts at 10; cell line 2
  assert.deepEqual(mapped.related, [{ position: { line: 22 }, label: 'cell code: f()' }]);
});

test('frames of cells the document does not know are left out', () => {
  const mapped = mapError(error, (cell) => (cell === 'b' ? regions.b : undefined));
  // No location in this document: the innermost known frame carries the error.
  assert.deepEqual(mapped.primary!.position, { line: 22 });
  assert.deepEqual(mapped.related, []);
});

test('a syntax error keeps its columns (1-based on the wire, 0-based here)', () => {
  const syntax: PythonError = {
    type: 'SyntaxError',
    message: 'invalid syntax',
    traceback: '',
    frames: [],
    location: { file: '<cell 6>', line: 1, column: 12, endLine: 1, endColumn: 13, cell: 'a' },
  };
  assert.deepEqual(mapError(syntax, locate).primary!.position, { line: 10, character: 11, endLine: 10, endCharacter: 12 });
});

test('traceback text is rewritten to name the file and its lines', () => {
  const text = rewriteTraceback(error.traceback, (count, line) => (count === 1 ? `File "demo.py", line ${10 + line}` : undefined));
  assert.match(text, /File "<cell 2>", line 3, in <module>/);
  assert.match(text, /File "demo\.py", line 12, in f/);
});

test('regions move with whole-line edits and grow with edits inside them', () => {
  const region = { firstLine: 10, lineCount: 3 };
  // Two lines pasted above.
  assert.deepEqual(shiftRegion(region, lineEditOf({ startLine: 2, startCharacter: 0, endLine: 2, endCharacter: 0, text: 'a\nb\n' })), { firstLine: 12, lineCount: 3 });
  // Enter at the end of the line just above the cell.
  assert.deepEqual(shiftRegion(region, lineEditOf({ startLine: 9, startCharacter: 4, endLine: 9, endCharacter: 4, text: '\n' })), { firstLine: 11, lineCount: 3 });
  // Lines 3-5 deleted.
  assert.deepEqual(shiftRegion(region, lineEditOf({ startLine: 3, startCharacter: 0, endLine: 6, endCharacter: 0, text: '' })), { firstLine: 7, lineCount: 3 });
  // A line added inside the cell.
  assert.deepEqual(shiftRegion(region, lineEditOf({ startLine: 11, startCharacter: 2, endLine: 11, endCharacter: 2, text: '\n' })), { firstLine: 10, lineCount: 4 });
  // Edits below change nothing.
  assert.deepEqual(shiftRegion(region, lineEditOf({ startLine: 30, startCharacter: 0, endLine: 30, endCharacter: 0, text: 'x\n' })), region);
});
