// What to tell the user about one document's session: it crashed, the
// server moved it to a process, it runs where and on which Python.

import { ChangedParams, CrashedParams, OpenResult, Suggestion } from './protocol';

/** "subcell: the session of cells.py crashed (…): its variables are gone; …" */
export function describeCrash(name: string, crash: CrashedParams): string {
  return `subcell: the session of ${name} crashed (${crash.message}): its variables are gone; the next run starts a fresh session.`;
}

/** The crash for the log: the sentence, then the worker's last stderr lines. */
export function crashLogLines(name: string, crash: CrashedParams): string[] {
  const tail = crash.stderr.replace(/\n+$/, '');
  return [describeCrash(name, crash), ...(tail ? tail.split('\n').map((line) => `  ${line}`) : [])];
}

const uncleanCloses: Record<string, string> = {
  parked: 'a thread it started would not stop, so its interpreter is kept, unreachable, until the server exits',
  abandoned: 'a cell stuck in C would not stop in time, so its interpreter was abandoned (its output goes to the server log)',
  killed: 'a cell would not stop in time, so its worker process was killed',
};

/** A session that did not end cleanly when closed (`session/close`'s `interpreter`). */
export function describeUncleanClose(name: string, how: string): string {
  return `subcell: the session of ${name} did not end cleanly: ${uncleanCloses[how] ?? how}.`;
}

/** "subcell: plots.ipynb moved to a process because it imports numpy" */
export function describeChange(name: string, change: ChangedParams): string {
  const modules = change.modules ?? [];
  const where = change.isolation === 'process' ? 'a process' : 'an interpreter';
  const why = modules.length ? `because it imports ${listOf(modules)}` : `(${change.reason})`;
  return `subcell: ${name} moved to ${where} ${why}`;
}

/** The suggestion's message, naming the document. */
export function describeSuggestion(name: string, suggestion: Suggestion): string {
  return `subcell: ${name}: ${suggestion.message}`;
}

/** The status bar text: "subcell: 3.11 · process". */
export function placementLabel(where: OpenResult | undefined): string {
  if (!where) return 'subcell';
  const version = where.python ? where.python.version.split('.').slice(0, 2).join('.') : undefined;
  return `subcell: ${version ? `${version} · ` : ''}${where.isolation}`;
}

/** The status bar tooltip: the executable, the mode and the pid. */
export function placementDetail(name: string, where: OpenResult | undefined): string {
  if (!where) return `${name}: no session yet. Click to choose the Python it runs on.`;
  const python = where.python ? `Python ${where.python.version} (${where.python.executable})` : "the server's Python";
  const mode = where.isolation === 'process' ? `a process of its own (pid ${where.pid})` : `an interpreter in the server (pid ${where.pid})`;
  return `${name}: ${python}, in ${mode}. Click to choose another Python.`;
}

function listOf(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
