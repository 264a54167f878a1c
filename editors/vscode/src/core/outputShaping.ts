// What a run looks like in text: the one-line summary drawn after the cell,
// the preview in its hover, and the full output document. The caps live
// here: nothing drawn inline may be long enough to slow the editor down, and
// the rest is always one command away (the full output view).

import { CellRun } from './cellRun';
import { pictureLabel } from './mime';
import { MimeBundle } from './protocol';
import { errorLines } from './errorText';
import { errorSummary } from './traceback';

export interface ShapingLimits {
  /** Characters of the inline summary after the cell. */
  inlineChars: number;
  /** Lines of output in the hover preview. */
  previewLines: number;
  /** Characters per line in the hover preview. */
  previewLineChars: number;
}

export const defaultLimits: ShapingLimits = { inlineChars: 120, previewLines: 30, previewLineChars: 300 };

export type Tone = 'pending' | 'success' | 'error' | 'muted';

/**
 * The marks that start an inline summary. Each is in DejaVu Sans Mono, the
 * monospace font most Linux desktops fall back to; a mark no installed font
 * has is drawn as an empty box (U+23F5, once the running mark, was one).
 */
export const marks = { running: '▸', succeeded: '✓', failed: '✗', cancelled: '⊘', lost: '⚠', value: '→', queued: '…' } as const;

export interface InlineView {
  text: string;
  tone: Tone;
}

export interface Preview {
  /** The last output lines (each clipped), then the value or error. */
  lines: string[];
  /** Output lines not shown in the preview. */
  hiddenLines: number;
  /** Whether any shown line was clipped. */
  clipped: boolean;
}

/** Cuts a line to at most `max` characters, saying how much was cut. */
export function clip(line: string, max: number): string {
  if (line.length <= max) return line;
  let keep = Math.max(1, max - 16);
  for (let i = 0; i < 2; i++) {
    const suffix = `… (+${(line.length - keep).toLocaleString('en-US')} chars)`;
    keep = Math.max(1, max - suffix.length);
  }
  return `${line.slice(0, keep)}… (+${(line.length - keep).toLocaleString('en-US')} chars)`;
}

// prefix + body + suffix within `max` characters: the body gives way.
function compose(prefix: string, body: string, suffix: string, max: number): string {
  return prefix + clip(body, Math.max(8, max - prefix.length - suffix.length)) + suffix;
}

// One line that fits inline: a value's repr or an output line.
function oneLine(text: string): string {
  const lines = text.split('\n');
  const first = lines[0].replace(/\t/g, ' ');
  return lines.length > 1 && lines.slice(1).some((l) => l.trim()) ? `${first} …` : first;
}

/** A value as text: its `text/plain`, or "figure 640×480" for a picture. */
export function plainValue(bundle: MimeBundle | null): string | undefined {
  return bundle ? (pictureLabel(bundle) ?? bundle['text/plain']) : undefined;
}

function countLabel(run: CellRun): string {
  return run.executionCount !== undefined ? `[${run.executionCount}]` : '[ ]';
}

function lastOutputLine(run: CellRun): string | undefined {
  const last = run.output.lastLines(1)[0];
  return last !== undefined && last.trim() !== '' ? last : undefined;
}

function moreLines(run: CellRun): string {
  const extra = run.output.lineCount + run.output.droppedLines - 1;
  return extra > 0 ? `  (+${extra.toLocaleString('en-US')} lines)` : '';
}

/** The text drawn after the cell's last line. */
export function inlineSummary(run: CellRun, limits: ShapingLimits = defaultLimits): InlineView {
  const max = limits.inlineChars;
  const last = lastOutputLine(run);
  const count = countLabel(run);
  switch (run.state) {
    case 'queued':
      return { text: `${marks.queued} queued`, tone: 'pending' };
    case 'running': {
      const head = `${marks.running} ${count} `;
      return { text: last ? compose(head, oneLine(last), moreLines(run), max) : `${head}running…`, tone: 'pending' };
    }
    case 'failed':
      return { text: compose(`${marks.failed} ${count} `, errorSummary(run.error!), '', max), tone: 'error' };
    case 'cancelled':
      return { text: compose(`${marks.cancelled} `, run.problem?.message ?? 'cancelled', '', max), tone: 'muted' };
    case 'lost':
      return { text: compose(`${marks.lost} `, problemText(run), '', max), tone: 'error' };
    case 'succeeded': {
      const value = plainValue(run.value);
      if (value !== undefined) {
        // Output and value share the line; the value gets at least half of it.
        const valueText = clip(oneLine(value), Math.max(20, Math.floor(max / 2)));
        const head = `${marks.succeeded} ${count} `;
        if (!last) return { text: compose(`${head}${marks.value} `, oneLine(value), '', max), tone: 'success' };
        const room = max - head.length - valueText.length - 4;
        const output = room >= 12 ? compose('', oneLine(last), moreLines(run), room) + '  ' : '';
        return { text: `${head}${output}${marks.value} ${valueText}`, tone: 'success' };
      }
      if (last) return { text: compose(`${marks.succeeded} ${count} `, oneLine(last), moreLines(run), max), tone: 'success' };
      return { text: `${marks.succeeded} ${count} ${formatDuration(run.durationMs)}`, tone: 'muted' };
    }
  }
}

// Why a run got no result; a crash says what ended the session.
function problemText(run: CellRun): string {
  if (run.crash) return `the session crashed: ${run.crash.message}`;
  return run.problem?.message ?? run.state;
}

/** The hover: the tail of the output, capped, then the value or error. */
export function preview(run: CellRun, limits: ShapingLimits = defaultLimits): Preview {
  const shown = run.output.lastLines(limits.previewLines);
  const hiddenLines = run.output.lineCount + run.output.droppedLines - shown.length;
  let clipped = false;
  const lines = shown.map((line) => {
    const cut = clip(line, limits.previewLineChars);
    clipped ||= cut !== line;
    return cut;
  });
  const value = plainValue(run.value);
  if (value !== undefined) {
    const valueLines = value.split('\n');
    const head = valueLines.slice(0, limits.previewLines).map((l) => clip(l, limits.previewLineChars));
    head[0] = `Out[${run.executionCount}]: ${head[0]}`;
    if (valueLines.length > head.length) head.push(`… ${valueLines.length - head.length} more lines`);
    lines.push(...head);
  }
  if (run.error) lines.push(...errorLines(run.error));
  if (run.problem) lines.push(problemText(run));
  return { lines, hiddenLines, clipped };
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function stateLine(run: CellRun): string {
  switch (run.state) {
    case 'queued':
      return 'queued';
    case 'running':
      return 'running…';
    case 'succeeded':
      return `done in ${formatDuration(run.durationMs)}`;
    case 'failed':
      return `failed after ${formatDuration(run.durationMs)}`;
    case 'cancelled':
    case 'lost':
      return problemText(run);
  }
}

export interface FullOutputContext {
  /** The document's name, for the header. */
  documentName: string;
  /** The traceback with cell frames pointing into the document. */
  traceback?: string;
}

/** The full output document of a run: everything, nothing capped but the scrollback. */
export function fullOutput(run: CellRun, context: FullOutputContext): string {
  const where = run.region ? ` · line ${run.region.firstLine + 1}` : '';
  const title = run.title ? ` · ${run.title}` : '';
  const parts: string[] = [`# ${context.documentName}${where}${title} · In [${run.executionCount ?? ' '}] · ${stateLine(run)}`, ''];
  if (run.output.droppedLines > 0) {
    parts.push(`[… ${run.output.droppedLines.toLocaleString('en-US')} earlier lines dropped: output past the scrollback limit is not kept …]`);
  }
  const text = run.output.text();
  if (text) parts.push(text.endsWith('\n') ? text.slice(0, -1) : text);
  const value = plainValue(run.value);
  if (value !== undefined) parts.push(`Out[${run.executionCount}]: ${value}`);
  if (run.error) parts.push((context.traceback ?? run.error.traceback).replace(/\n$/, ''));
  if (run.crash?.stderr.trim()) parts.push('', "The session's last lines on standard error:", run.crash.stderr.replace(/\n+$/, ''));
  return parts.join('\n') + '\n';
}
