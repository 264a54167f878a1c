import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { TerminalText, terminalPlain } from '../src/core/terminalText';

test('a carriage return rewrites the line: a progress bar stays one line', () => {
  const out = new TerminalText();
  for (let pct = 0; pct <= 100; pct += 10) out.write(`\r${pct}%|${'#'.repeat(pct / 10)}`);
  out.write('\n');
  assert.equal(out.text(), '100%|##########\n');
  assert.equal(out.lineCount, 1);
});

test('tqdm-style updates split across chunks, and \\r\\n line ends', () => {
  const out = new TerminalText();
  out.write('loading  10%\r');
  out.write('loading 100%\r');
  out.write('\ndone\r\nbye\r');
  out.write('\n');
  assert.equal(out.text(), 'loading 100%\ndone\nbye\n');
});

test('a shorter rewrite overwrites like a terminal; backspace steps back', () => {
  assert.equal(terminalPlain('abcdef\rXY\n'), 'XYcdef\n');
  assert.equal(terminalPlain('12345\b\b!!\n'), '123!!\n');
});

test('ANSI colours are stripped for plain text and kept for notebooks', () => {
  const red = '\x1b[31mred\x1b[0m plain\n';
  assert.equal(terminalPlain(red), 'red plain\n');
  const styled = new TerminalText({ keepStyles: true });
  styled.write(red);
  assert.equal(styled.text(), red);
});

test('escape sequences split across writes are still recognised', () => {
  const out = new TerminalText();
  out.write('a\x1b[3');
  out.write('2mb\x1b');
  out.write('[0mc\x1b]0;window title\x07d\n');
  assert.equal(out.text(), 'abcd\n');
});

test('ESC[K erases the rest of the line (used by progress libraries)', () => {
  assert.equal(terminalPlain('long status line\r\x1b[Kshort\n'), 'short\n');
  assert.equal(terminalPlain('abcdef\r\x1b[2Kxy\n'), 'xy\n');
});

test('a huge single line is kept whole', () => {
  const out = new TerminalText();
  out.write('x'.repeat(100_000) + '\n');
  assert.equal(out.lineCount, 1);
  assert.equal(out.lastLines(1)[0].length, 100_000);
});

test('a flood of lines is bounded by the scrollback: old lines dropped and counted', () => {
  const out = new TerminalText({ maxChars: 100_000 });
  const chunk = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n';
  for (let i = 0; i < 1000; i++) out.write(chunk); // a million lines
  assert.ok(out.text().length <= 100_000 + 20);
  assert.equal(out.lineCount + out.droppedLines, 1_000_000);
  assert.deepEqual(out.lastLines(2), ['line 998', 'line 999']);
});

test('takeChanges appends new text and replaces only after a rewrite of taken text', () => {
  const out = new TerminalText();
  out.write('a\nb');
  assert.deepEqual(out.takeChanges(), { replace: false, text: 'a\nb' });
  out.write('c\nd\n');
  assert.deepEqual(out.takeChanges(), { replace: false, text: 'c\nd\n' });
  out.write('50%');
  assert.deepEqual(out.takeChanges(), { replace: false, text: '50%' });
  out.write('\r60%');
  assert.deepEqual(out.takeChanges(), { replace: true, text: 'a\nbc\nd\n60%' });
  // A rewrite of a line nobody has taken yet is still an append.
  out.write('\n10%\r20%\n');
  assert.deepEqual(out.takeChanges(), { replace: false, text: '\n20%\n' });
  assert.deepEqual(out.takeChanges(), { replace: false, text: '' });
});

test('takeChanges replaces once old lines were dropped, so a mirror stays bounded', () => {
  const out = new TerminalText({ maxChars: 10 });
  out.write('12345\n');
  out.takeChanges();
  out.write('67890\nabc\n');
  const changes = out.takeChanges();
  assert.equal(changes.replace, true);
  assert.equal(changes.text, '67890\nabc\n');
});
