// Output as a terminal shows it. A cell's stdout/stderr arrive as raw chunks;
// this buffer applies what a terminal would:
//
// - `\r` moves to the start of the line and later text overwrites it, so a
//   tqdm-style progress bar stays one line; `\b` steps back one column;
// - ANSI escape sequences are interpreted, not shown: colours (SGR) are kept
//   for renderers that draw them (notebooks) or dropped for plain text
//   (inline decorations, the output document); `ESC[K` erases the line, cursor
//   moves within the line work, anything else is dropped;
// - memory is bounded like a terminal's scrollback: past `maxChars` the oldest
//   lines are dropped (and counted), and a line longer than `maxLineChars` is
//   wrapped, so a flood can never grow without limit.
//
// `takeChanges()` tells a consumer that mirrors the text (a notebook output)
// whether it can append what is new or must replace everything.

export interface TerminalOptions {
  /** Keep SGR colour sequences in the text (for renderers that draw ANSI). */
  keepStyles?: boolean;
  /** Characters kept before the oldest lines are dropped. */
  maxChars?: number;
  /** A line longer than this is wrapped, as a terminal would. */
  maxLineChars?: number;
}

export interface TextChanges {
  /** True when the consumer must replace its copy with `text`. */
  replace: boolean;
  /** The whole text (replace) or what to append. */
  text: string;
}

const defaultMaxChars = 8 * 1024 * 1024;
const defaultMaxLineChars = 1024 * 1024;
// Control characters that need a closer look; everything else is printable.
const special = /[\x00-\x08\x0a-\x1f\x7f]/g;

export class TerminalText {
  private readonly keepStyles: boolean;
  private readonly maxChars: number;
  private readonly maxLineChars: number;

  // Committed lines (without '\n'), oldest first from `head`.
  private lines: string[] = [];
  private head = 0;
  private committedChars = 0;
  private droppedLineCount = 0;
  private droppedCharCount = 0;
  private committedTotal = 0;

  // The live (unterminated) line: a plain string while it is only appended
  // to, glyphs (style prefix + one character) once it is rewritten or styled.
  private liveText = '';
  private glyphs: string[] | undefined;
  private cursor = 0;
  private pendingStyle = '';
  private escape = '';

  // What a mirroring consumer holds (see takeChanges).
  private takenLines = 0;
  private takenLiveChars = 0;
  private takenDropped = 0;
  private dirty = false;

  constructor(options: TerminalOptions = {}) {
    this.keepStyles = options.keepStyles ?? false;
    this.maxChars = options.maxChars ?? defaultMaxChars;
    this.maxLineChars = options.maxLineChars ?? defaultMaxLineChars;
  }

  write(chunk: string): void {
    let i = 0;
    if (this.escape) i = this.continueEscape(chunk, 0);
    special.lastIndex = i;
    while (i < chunk.length) {
      special.lastIndex = i;
      const match = special.exec(chunk);
      const stop = match ? match.index : chunk.length;
      if (stop > i) this.printable(chunk.slice(i, stop));
      if (!match) break;
      i = this.control(chunk, stop);
    }
  }

  /** Lines drawn, the live one included; dropped lines not counted. */
  get lineCount(): number {
    return this.lines.length - this.head + (this.liveLength() > 0 ? 1 : 0);
  }

  get droppedLines(): number {
    return this.droppedLineCount;
  }

  get droppedChars(): number {
    return this.droppedCharCount;
  }

  get isEmpty(): boolean {
    return this.lineCount === 0 && this.droppedLineCount === 0;
  }

  /** The retained text; ends with '\n' when the output did. */
  text(): string {
    const committed = this.lines.length > this.head ? this.lines.slice(this.head).join('\n') + '\n' : '';
    return committed + this.liveString();
  }

  /** The last `count` lines (the live line last, when there is one). */
  lastLines(count: number): string[] {
    const live = this.liveString();
    const wanted = live ? count - 1 : count;
    const from = Math.max(this.head, this.lines.length - Math.max(wanted, 0));
    const result = this.lines.slice(from);
    if (live && count > 0) result.push(live);
    return result;
  }

  /** The first `count` retained lines. */
  firstLines(count: number): string[] {
    const result = this.lines.slice(this.head, this.head + count);
    if (result.length < count && this.liveLength() > 0) result.push(this.liveString());
    return result;
  }

  /** Whether the output so far ends in a newline (nothing on the live line). */
  get atLineStart(): boolean {
    return this.liveLength() === 0;
  }

  /**
   * What changed since the previous call, for a consumer that mirrors the
   * text: an append when only new text came, a replace when a line it holds
   * was rewritten or old lines were dropped.
   */
  takeChanges(): TextChanges {
    let changes: TextChanges;
    const linesLost = this.droppedLineCount > this.takenDropped;
    if (this.dirty || linesLost) {
      changes = { replace: true, text: this.text() };
    } else {
      const start = this.takenLines - (this.committedTotal - (this.lines.length - this.head));
      const newLines = this.lines.slice(this.head + start);
      const joined = (newLines.length ? newLines.join('\n') + '\n' : '') + this.liveString();
      changes = { replace: false, text: joined.slice(this.takenLiveChars) };
    }
    this.takenLines = this.committedTotal;
    this.takenLiveChars = this.liveString().length;
    this.takenDropped = this.droppedLineCount;
    this.dirty = false;
    return changes;
  }

  // ---- writing ----

  private printable(text: string): void {
    if (this.glyphs === undefined && !this.pendingStyle && this.cursor === this.liveText.length) {
      this.liveText += text;
      this.cursor = this.liveText.length;
      if (this.liveText.length > this.maxLineChars) this.wrap();
      return;
    }
    const glyphs = this.toGlyphs();
    for (const ch of text) {
      while (this.cursor > glyphs.length) glyphs.push(' ');
      const glyph = this.pendingStyle + ch;
      this.pendingStyle = '';
      if (this.cursor < glyphs.length) {
        this.markRewrite(this.cursor);
        glyphs[this.cursor] = glyph;
      } else {
        glyphs.push(glyph);
      }
      this.cursor++;
    }
    if (glyphs.length > this.maxLineChars) this.wrap();
  }

  // Handles the control character at `at`; returns where to go on.
  private control(chunk: string, at: number): number {
    const ch = chunk[at];
    switch (ch) {
      case '\n':
        this.commitLine();
        return at + 1;
      case '\r':
        this.cursor = 0;
        return at + 1;
      case '\b':
        this.cursor = Math.max(0, Math.min(this.cursor, this.liveLength()) - 1);
        return at + 1;
      case '\x1b':
        this.escape = '\x1b';
        return this.continueEscape(chunk, at + 1);
      default:
        return at + 1; // bell, form feed...: nothing a user would see
    }
  }

  // Reads an escape sequence, possibly split across chunks.
  private continueEscape(chunk: string, from: number): number {
    let i = from;
    while (i < chunk.length) {
      const ch = chunk[i++];
      this.escape += ch;
      const seq = this.escape;
      if (seq.length === 2) {
        if (ch === '[' || ch === ']' || ch === '(' || ch === ')') continue;
        this.escape = ''; // two-character escape: nothing to show
        return i;
      }
      if (seq[1] === '[') {
        if (ch >= '@' && ch <= '~') {
          this.escape = '';
          this.applyCsi(seq);
          return i;
        }
      } else if (seq[1] === ']') {
        if (ch === '\x07' || seq.endsWith('\x1b\\')) {
          this.escape = '';
          return i;
        }
      } else {
        this.escape = ''; // ESC ( B and friends: character sets
        return i;
      }
      if (seq.length > 256) {
        this.escape = ''; // not a sequence after all; drop it
        return i;
      }
    }
    return i;
  }

  private applyCsi(seq: string): void {
    const final = seq[seq.length - 1];
    const params = seq.slice(2, -1);
    const n = parseInt(params, 10);
    switch (final) {
      case 'm':
        if (this.keepStyles) this.pendingStyle += seq;
        return;
      case 'K':
        this.eraseInLine(Number.isNaN(n) ? 0 : n);
        return;
      case 'G':
        this.cursor = Math.max(0, (Number.isNaN(n) ? 1 : n) - 1);
        return;
      case 'C':
        this.cursor += Number.isNaN(n) ? 1 : Math.max(1, n);
        return;
      case 'D':
        this.cursor = Math.max(0, this.cursor - (Number.isNaN(n) ? 1 : Math.max(1, n)));
        return;
      default:
        return; // cursor up/down, screen clears: not meaningful in a log
    }
  }

  private eraseInLine(mode: number): void {
    const glyphs = this.toGlyphs();
    if (mode === 0) {
      if (this.cursor < glyphs.length) {
        this.markRewrite(this.cursor);
        glyphs.length = this.cursor;
      }
    } else if (mode === 1) {
      this.markRewrite(0);
      for (let i = 0; i < Math.min(this.cursor + 1, glyphs.length); i++) glyphs[i] = ' ';
    } else {
      if (glyphs.length) this.markRewrite(0);
      glyphs.length = 0;
    }
  }

  private commitLine(): void {
    const line = this.liveString() + (this.keepStyles ? this.pendingStyle : '');
    this.pendingStyle = '';
    this.liveText = '';
    this.glyphs = undefined;
    this.cursor = 0;
    this.lines.push(line);
    this.committedChars += line.length + 1;
    this.committedTotal++;
    this.dropOldLines();
  }

  // A very long live line is committed as it is, as a terminal wraps.
  private wrap(): void {
    this.commitLine();
  }

  private dropOldLines(): void {
    while (this.committedChars > this.maxChars && this.lines.length - this.head > 1) {
      const line = this.lines[this.head++];
      this.committedChars -= line.length + 1;
      this.droppedLineCount++;
      this.droppedCharCount += line.length + 1;
    }
    // Compact now and then so dropping stays O(1) per line.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  // ---- the live line ----

  private toGlyphs(): string[] {
    if (this.glyphs === undefined) {
      this.glyphs = Array.from(this.liveText);
      this.liveText = '';
    }
    return this.glyphs;
  }

  private liveLength(): number {
    return this.glyphs ? this.glyphs.length : this.liveText.length;
  }

  private liveString(): string {
    return this.glyphs ? this.glyphs.join('') : this.liveText;
  }

  // A glyph at `index` of the live line changes: a consumer holding that
  // part of the line must replace its copy.
  private markRewrite(index: number): void {
    // Same line as at the last take, and within what was taken (a glyph
    // index never exceeds its character offset, so this errs towards replace).
    if (this.takenLines === this.committedTotal && index < this.takenLiveChars) this.dirty = true;
  }
}

/** Plain text of a string with escape sequences and `\r` rewrites applied. */
export function terminalPlain(text: string): string {
  const buffer = new TerminalText();
  buffer.write(text);
  return buffer.text();
}
