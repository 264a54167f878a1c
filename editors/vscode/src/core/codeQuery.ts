// What to ask the session about the code under the cursor: `cell/inspect`
// for a hover, `cell/complete` for completions. The server counts the cursor
// in Unicode code points, the editor in UTF-16 units: the conversions live
// here. Only the current line is sent, up to the end of the dotted name
// (`json.dumps`, `df.columns`): that is all the server looks at.

import { CompleteResult, InspectResult } from './protocol';

/** Code points in `text` (a character outside the BMP is one, not two). */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** The UTF-16 offset of the `codePoints`-th code point of `text`. */
export function utf16Offset(text: string, codePoints: number): number {
  let offset = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen >= codePoints) break;
    offset += ch.length;
    seen++;
  }
  return offset;
}

const nameChar = /[\p{L}\p{N}_]/u;

export interface InspectQuery {
  code: string;
  cursor: number;
  /** UTF-16 columns of the dotted name on the line. */
  start: number;
  end: number;
}

/** The dotted name at `character` (UTF-16) in `line`, or undefined when the cursor is not on a name. */
export function inspectQuery(line: string, character: number): InspectQuery | undefined {
  let start = character;
  let end = character;
  while (end < line.length && nameChar.test(line[end])) end++;
  while (start > 0 && (nameChar.test(line[start - 1]) || (line[start - 1] === '.' && start > 1 && nameChar.test(line[start - 2])))) start--;
  if (end === start || !/[\p{L}_]/u.test(line[start])) return undefined;
  const code = line.slice(0, end);
  return { code, cursor: codePointLength(code), start, end };
}

export interface CompleteQuery {
  code: string;
  cursor: number;
}

/** `cell/complete` for the line up to the cursor. */
export function completeQuery(line: string, character: number): CompleteQuery {
  const code = line.slice(0, character);
  return { code, cursor: codePointLength(code) };
}

export interface Completion {
  /** What the list shows: the last part of the dotted name. */
  label: string;
  /** What replaces the range: the whole match. */
  insertText: string;
  /** UTF-16 columns on the line of what the match replaces. */
  start: number;
  end: number;
}

export function completions(query: CompleteQuery, result: CompleteResult): Completion[] {
  const start = utf16Offset(query.code, result.cursorStart);
  const end = utf16Offset(query.code, result.cursorEnd);
  return result.matches.map((match) => ({ label: match.slice(match.lastIndexOf('.') + 1) || match, insertText: match, start, end }));
}

export interface HoverText {
  /** `name(signature)` or `name: type`, shown as Python. */
  heading: string;
  /** The object's type, e.g. "function". */
  type?: string;
  docstring?: string;
  /** The value's repr, for what is not callable. */
  repr?: string;
}

export function hoverText(result: InspectResult): HoverText | undefined {
  if (!result.found || !result.name) return undefined;
  const heading = result.signature !== undefined ? `${result.name}${result.signature}` : result.type ? `${result.name}: ${result.type}` : result.name;
  return {
    heading,
    type: result.type,
    docstring: result.docstring?.trim() || undefined,
    repr: result.signature === undefined ? result.repr : undefined,
  };
}
