// Everything one run printed and displayed, in order, for the views that
// draw text (the line after a `# %%` cell, its hover, the full output view)
// and the rich output view. Streams are terminal text (terminalText.ts);
// each `display()` is a block of its own that can be replaced later
// (`update_display`, a display id), and `clear_output()` empties it all, at
// once or when the next output arrives (`wait=True`): a progress bar drawn
// either way stays one line.
//
// Memory is bounded like a terminal's scrollback: the open stream block by
// its own cap, the finished blocks together by the same cap (the oldest
// blocks are dropped and their lines counted).

import { bundleText } from './mime';
import { MimeBundle } from './protocol';
import { TerminalText } from './terminalText';

export type OutputBlock =
  | { kind: 'stream'; text: TerminalText }
  | { kind: 'display'; data: MimeBundle; displayId?: string };

const defaultMaxChars = 8 * 1024 * 1024;

export class RunOutput {
  private blocks: OutputBlock[] = [];
  /** Characters held by every block but the last. */
  private closedChars = 0;
  private dropped = 0;
  private clearPending = false;

  constructor(private readonly maxChars = defaultMaxChars) {}

  write(text: string): void {
    this.clearIfPending();
    const last = this.blocks[this.blocks.length - 1];
    if (last?.kind === 'stream') {
      last.text.write(text);
      return;
    }
    const stream = new TerminalText({ maxChars: this.maxChars });
    stream.write(text);
    this.push({ kind: 'stream', text: stream });
  }

  display(data: MimeBundle, displayId?: string): void {
    this.clearIfPending();
    this.push(displayId === undefined ? { kind: 'display', data } : { kind: 'display', data, displayId });
  }

  /** Replaces the blocks shown with `displayId`; false when there is none. */
  updateDisplay(displayId: string, data: MimeBundle): boolean {
    let found = false;
    this.blocks.forEach((block, index) => {
      if (block.kind !== 'display' || block.displayId !== displayId) return;
      if (index < this.blocks.length - 1) this.closedChars += bundleSize(data) - bundleSize(block.data);
      block.data = data;
      found = true;
    });
    return found;
  }

  /** `clear_output(wait)`. */
  clear(wait: boolean): void {
    if (wait) this.clearPending = true;
    else this.reset();
  }

  get blocksShown(): readonly OutputBlock[] {
    return this.blocks;
  }

  /** Lines drawn, dropped ones not counted. */
  get lineCount(): number {
    return this.blocks.reduce((sum, block) => sum + (block.kind === 'stream' ? block.text.lineCount : displayLines(block.data).length), 0);
  }

  get droppedLines(): number {
    return this.dropped + this.blocks.reduce((sum, b) => sum + (b.kind === 'stream' ? b.text.droppedLines : 0), 0);
  }

  get atLineStart(): boolean {
    const last = this.blocks[this.blocks.length - 1];
    return !last || last.kind === 'display' || last.text.atLineStart;
  }

  /** The retained text; each display is its own lines. */
  text(): string {
    return this.blocks
      .map((block, index) => {
        if (block.kind === 'display') return bundleText(block.data) + '\n';
        const text = block.text.text();
        const more = index < this.blocks.length - 1;
        return more && text && !text.endsWith('\n') ? text + '\n' : text;
      })
      .join('');
  }

  /** The last `count` lines. */
  lastLines(count: number): string[] {
    const result: string[] = [];
    for (let i = this.blocks.length - 1; i >= 0 && result.length < count; i--) {
      const block = this.blocks[i];
      const lines = block.kind === 'stream' ? block.text.lastLines(count - result.length) : displayLines(block.data).slice(-(count - result.length));
      result.unshift(...lines);
    }
    return result;
  }

  private clearIfPending(): void {
    if (!this.clearPending) return;
    this.reset();
  }

  private reset(): void {
    this.blocks = [];
    this.closedChars = 0;
    this.dropped = 0;
    this.clearPending = false;
  }

  private push(block: OutputBlock): void {
    const last = this.blocks[this.blocks.length - 1];
    if (last) this.closedChars += blockSize(last);
    this.blocks.push(block);
    // Keep the newest block whatever its size.
    while (this.closedChars > this.maxChars && this.blocks.length > 1) {
      const oldest = this.blocks.shift()!;
      this.closedChars -= blockSize(oldest);
      this.dropped += oldest.kind === 'stream' ? oldest.text.lineCount + oldest.text.droppedLines : displayLines(oldest.data).length;
    }
  }
}

function displayLines(data: MimeBundle): string[] {
  return bundleText(data).split('\n');
}

function blockSize(block: OutputBlock): number {
  return block.kind === 'stream' ? block.text.text().length : bundleSize(block.data);
}

function bundleSize(data: MimeBundle): number {
  return Object.values(data).reduce<number>((sum, value) => sum + (typeof value === 'string' ? value.length : JSON.stringify(value).length), 0);
}
