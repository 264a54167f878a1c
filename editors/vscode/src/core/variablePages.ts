// The variables of one session as the Variables view lists them: loaded a
// page at a time (`session/variables` with offset and limit), and each one
// described in a line: its type, its size (len or shape) and its repr.

import { Variable, VariablesResult } from './protocol';
import { Result } from './result';

export const pageSize = 200;

/** "DataFrame" for "pandas.core.frame.DataFrame". */
export function shortType(type: string): string {
  return type.slice(type.lastIndexOf('.') + 1);
}

/** "3×2" for a shape, "len 1000" for a length, "" otherwise. */
export function sizeText(variable: Variable): string {
  if (variable.shape) return variable.shape.join('×');
  if (variable.length !== undefined) return `len ${variable.length.toLocaleString('en-US')}`;
  return '';
}

/** What follows the name in the view: "DataFrame 3×2 = a b 0 1 2 …". */
export function variableLine(variable: Variable): string {
  const size = sizeText(variable);
  const repr = variable.repr.replace(/\s+/g, ' ').trim();
  return `${shortType(variable.type)}${size ? ` ${size}` : ''} = ${repr}`;
}

/** The pages of one session's variables loaded so far. */
export class VariablePages {
  private loaded: Variable[] = [];
  private totalCount = 0;

  constructor(private readonly fetch: (offset: number, limit: number) => Promise<Result<VariablesResult>>) {}

  get variables(): readonly Variable[] {
    return this.loaded;
  }

  get total(): number {
    return this.totalCount;
  }

  get remaining(): number {
    return Math.max(0, this.totalCount - this.loaded.length);
  }

  /** Loads the first page again (after a cell ran). */
  async reload(): Promise<Result<void>> {
    const first = await this.fetch(0, Math.max(pageSize, this.loaded.length));
    if (!first.ok) return first;
    this.loaded = first.value.variables;
    this.totalCount = first.value.total;
    return { ok: true, value: undefined };
  }

  /** Appends the next page. */
  async more(): Promise<Result<void>> {
    const next = await this.fetch(this.loaded.length, pageSize);
    if (!next.ok) return next;
    this.loaded = [...this.loaded.slice(0, next.value.offset), ...next.value.variables];
    this.totalCount = next.value.total;
    return { ok: true, value: undefined };
  }
}
