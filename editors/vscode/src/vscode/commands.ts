// The commands of package.json "contributes.commands". Each one finds its
// document and cell (from CodeLens arguments or the cursor), then hands the
// work to a session; nothing here talks to the server directly.

import * as vscode from 'vscode';
import { Cell, cellAt, cellsAbove, cellsFrom, hasCode, nextCellLine, parseCells, runnable, selectionAsCode } from '../core/cells';
import { CellToRun, cellToRun, DocumentSession } from '../core/documentSession';
import { SessionRegistry } from '../core/sessionRegistry';
import { ServerSupervisor } from '../core/serverSupervisor';
import { identityOf } from './documentIdentity';
import { InteractiveWindows } from './interactiveWindow';
import { NotebookKernels } from './notebookKernels';
import { OutputView } from './outputView';
import { ServerStatus } from './serverStatus';
import { mayRunCode } from './workspaceTrust';

export interface CommandDeps {
  registry: SessionRegistry;
  supervisor: ServerSupervisor;
  outputView: OutputView;
  windows: InteractiveWindows;
  kernels: NotebookKernels;
  status: ServerStatus;
}

interface Target {
  editor?: vscode.TextEditor;
  document: vscode.TextDocument;
  line: number;
  cells: Cell[];
  cell?: Cell;
}

// CodeLens and the editor title bar pass (uri, line?), a hover link the
// URI as a string; a keybinding passes nothing: use the cursor.
function target(arg?: unknown, line?: unknown): Target | undefined {
  let editor = vscode.window.activeTextEditor;
  let document = editor?.document;
  const uri = typeof arg === 'string' ? vscode.Uri.parse(arg) : arg;
  if (uri instanceof vscode.Uri) {
    document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
  }
  if (!document) return undefined;
  const at = typeof line === 'number' ? line : (editor?.selection.active.line ?? 0);
  const cells = parseCells(document.getText());
  return { editor, document, line: at, cells, cell: cellAt(cells, at) };
}

function sessionOf(document: vscode.TextDocument, registry: SessionRegistry): DocumentSession {
  return registry.getOrCreate(identityOf(document.uri));
}

/** Queues the cells; resolves when they have all finished. */
function run(deps: CommandDeps, document: vscode.TextDocument, cells: CellToRun[]): Promise<void> {
  if (cells.length === 0 || !mayRunCode()) return Promise.resolve();
  return sessionOf(document, deps.registry).run(cells).done;
}

function runnableCell(t: Target): Cell | undefined {
  if (!t.cell) return undefined;
  if (t.cell.markdown) {
    void vscode.window.showInformationMessage('subcell: this is a markdown cell; it is not run.');
    return undefined;
  }
  return hasCode(t.cell) ? t.cell : undefined;
}

async function runAndAdvance(deps: CommandDeps, uri?: unknown, line?: unknown): Promise<void> {
  const t = target(uri, line);
  if (!t) return;
  const cell = runnableCell(t);
  const done = cell ? run(deps, t.document, [cellToRun(cell)]) : Promise.resolve();
  if (t.editor && t.cell) await moveToNextCell(t.editor, t.cells, t.cell);
  await done;
}

// As in Jupyter: the cursor goes to the next cell; after the last cell a new
// empty one is added.
async function moveToNextCell(editor: vscode.TextEditor, cells: Cell[], cell: Cell): Promise<void> {
  let line = nextCellLine(cells, cell);
  if (line === undefined) {
    const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    const lastLineEmpty = editor.document.lineAt(editor.document.lineCount - 1).isEmptyOrWhitespace;
    await editor.edit((edit) => edit.insert(end, `${lastLineEmpty ? '' : '\n'}\n# %%\n`));
    line = editor.document.lineCount - 1;
  }
  const position = new vscode.Position(line, 0);
  editor.selection = new vscode.Selection(position, position);
  editor.revealRange(new vscode.Range(position, position));
}

function selectionCells(t: Target): CellToRun[] {
  const editor = t.editor;
  if (!editor) return [];
  const selections = editor.selections.filter((s) => !s.isEmpty);
  if (selections.length === 0) {
    const line = editor.document.lineAt(editor.selection.active.line);
    return line.isEmptyOrWhitespace ? [] : [{ code: selectionAsCode(line.text), region: { firstLine: line.lineNumber, lineCount: 1 } }];
  }
  return [...selections]
    .sort((a, b) => a.start.line - b.start.line)
    .map((s) => ({
      code: selectionAsCode(editor.document.getText(s)),
      region: { firstLine: s.start.line, lineCount: s.end.line - s.start.line + 1 },
    }));
}

function notebookOf(arg: unknown): vscode.NotebookDocument | undefined {
  const candidate = (arg as { notebookEditor?: { notebookUri?: vscode.Uri } } | undefined)?.notebookEditor?.notebookUri ?? arg;
  if (candidate instanceof vscode.Uri) return vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === candidate.toString());
  return vscode.window.activeNotebookEditor?.notebook;
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { registry } = deps;
  const commands: Record<string, (...args: unknown[]) => unknown> = {
    'subcell.runCell': (uri, line) => {
      const t = target(uri, line);
      const cell = t && runnableCell(t);
      return t && cell ? run(deps, t.document, [cellToRun(cell)]) : undefined;
    },
    'subcell.runCellAndAdvance': (uri, line) => runAndAdvance(deps, uri, line),
    'subcell.runAbove': (uri, line) => {
      const t = target(uri, line);
      return t?.cell ? run(deps, t.document, cellsAbove(t.cells, t.cell).map(cellToRun)) : undefined;
    },
    'subcell.runBelow': (uri, line) => {
      const t = target(uri, line);
      return t?.cell ? run(deps, t.document, cellsFrom(t.cells, t.cell).map(cellToRun)) : undefined;
    },
    'subcell.runAll': (uri) => {
      const t = target(uri);
      return t ? run(deps, t.document, runnable(t.cells).map(cellToRun)) : undefined;
    },
    'subcell.runSelection': (uri) => {
      const t = target(uri);
      return t ? run(deps, t.document, selectionCells(t)) : undefined;
    },
    'subcell.interrupt': async (uri) => {
      const t = target(uri);
      if (t) await registry.get(t.document.uri.toString())?.interrupt();
    },
    'subcell.resetSession': async (uri) => {
      const t = target(uri);
      if (!t) return;
      const reset = await sessionOf(t.document, registry).reset();
      if (reset.ok) void vscode.window.setStatusBarMessage(`subcell: session reset (${reset.value.removedNames} names removed)`, 4000);
      else void vscode.window.showErrorMessage(`subcell: reset failed: ${reset.failure.message}`);
    },
    'subcell.showCellOutput': async (uri, line) => {
      const t = target(uri, line);
      if (!t?.cell) return;
      const key = t.document.uri.toString();
      const last = registry.get(key)?.history.latestIn(Math.max(t.cell.markerLine, 0), t.cell.endLine);
      if (last) await deps.outputView.show(key, last);
      else void vscode.window.showInformationMessage('subcell: this cell has not run yet.');
    },
    'subcell.showRunOutput': async (key, runId) => {
      const found = registry.get(String(key))?.history.byCellId(String(runId));
      if (found) await deps.outputView.show(String(key), found);
    },
    'subcell.runCellInInteractiveWindow': (uri, line) => {
      const t = target(uri, line);
      const cell = t && runnableCell(t);
      return t && cell && mayRunCode() ? deps.windows.send(t.document, [cell]) : undefined;
    },
    'subcell.runFileInInteractiveWindow': (uri) => {
      const t = target(uri);
      return t && mayRunCode() ? deps.windows.send(t.document, runnable(t.cells)) : undefined;
    },
    'subcell.resetNotebook': (arg) => {
      const notebook = notebookOf(arg);
      return notebook ? deps.kernels.reset(notebook) : undefined;
    },
    'subcell.restartServer': () => deps.supervisor.restart(),
    'subcell.showLog': () => deps.status.show(),
  };
  return Object.entries(commands).map(([id, handler]) => vscode.commands.registerCommand(id, handler));
}
