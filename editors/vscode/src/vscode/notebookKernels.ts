// The two notebook controllers: "subcell" for Jupyter notebooks (.ipynb,
// notebook type `jupyter-notebook`) and for VS Code's Interactive Window
// (notebook type `interactive`, which any extension can drive; no Jupyter
// extension needed). Each notebook runs in its own session; an Interactive
// Window opened for a `# %%` file shares that file's session, so its errors
// point into the file and its variables are the file's.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { CodeRegion } from '../core/cellRun';
import { DocumentSession } from '../core/documentSession';
import { PythonError } from '../core/protocol';
import { SessionRegistry } from '../core/sessionRegistry';
import { rewriteTraceback } from '../core/traceback';
import { identityOf } from './documentIdentity';
import { followDisplayUpdates, runNotebookCells } from './notebookExecution';
import { mayRunCode } from './workspaceTrust';

export const jupyterControllerId = 'subcell-notebook';
export const interactiveControllerId = 'subcell-interactive';

/** Where an Interactive Window cell came from: stored in the cell's metadata. */
export interface SourceMetadata {
  file: string;
  firstLine: number;
  lineCount: number;
}

export class NotebookKernels implements vscode.Disposable {
  readonly jupyter: vscode.NotebookController;
  readonly interactive: vscode.NotebookController;
  /** Interactive Window notebook → the `# %%` file it runs for. */
  private readonly sourceFiles = new Map<string, vscode.Uri>();
  private readonly selected = new Set<string>();
  private readonly selectionListeners: Array<() => void> = [];
  /** Notebook → the end of its subscription to display updates. */
  private readonly followed = new Map<string, () => void>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly registry: SessionRegistry) {
    this.jupyter = this.create(jupyterControllerId, 'jupyter-notebook');
    this.interactive = this.create(interactiveControllerId, 'interactive');
    this.subscriptions.push(vscode.workspace.onDidCloseNotebookDocument((notebook) => void this.closed(notebook)));
  }

  /** Links an Interactive Window to the file whose cells it runs. */
  link(notebook: vscode.NotebookDocument, file: vscode.Uri): void {
    this.sourceFiles.set(notebook.uri.toString(), file);
    this.interactive.updateNotebookAffinity(notebook, vscode.NotebookControllerAffinity.Preferred);
  }

  isSelectedFor(notebook: vscode.NotebookDocument): boolean {
    return this.selected.has(notebook.uri.toString());
  }

  /** Called when a notebook selects or leaves a subcell controller. */
  onSelectionChange(listener: () => void): void {
    this.selectionListeners.push(listener);
  }

  sessionFor(notebook: vscode.NotebookDocument): DocumentSession {
    const file = this.sourceFiles.get(notebook.uri.toString());
    return this.registry.getOrCreate(identityOf(file ?? notebook.uri));
  }

  /** The registry key of the notebook's session: the file's for an Interactive Window. */
  sessionKeyFor(notebook: vscode.NotebookDocument): string {
    return (this.sourceFiles.get(notebook.uri.toString()) ?? notebook.uri).toString();
  }

  run(notebook: vscode.NotebookDocument, cells: readonly vscode.NotebookCell[]): Promise<void> {
    const controller = notebook.notebookType === 'interactive' ? this.interactive : this.jupyter;
    const file = this.sourceFiles.get(notebook.uri.toString());
    const session = this.sessionFor(notebook);
    if (!this.followed.has(notebook.uri.toString())) this.followed.set(notebook.uri.toString(), followDisplayUpdates(notebook, session));
    return runNotebookCells(controller, session, cells, {
      regionOf: file ? (cell) => regionOf(cell, file) : undefined,
      traceback: (error) => this.traceback(error, session, file),
    });
  }

  async reset(notebook: vscode.NotebookDocument): Promise<void> {
    const reset = await this.sessionFor(notebook).reset();
    if (reset.ok) void vscode.window.setStatusBarMessage(`subcell: session reset (${reset.value.removedNames} names removed)`, 4000);
    else void vscode.window.showErrorMessage(`subcell: reset failed: ${reset.failure.message}`);
  }

  dispose(): void {
    this.jupyter.dispose();
    this.interactive.dispose();
    for (const unfollow of this.followed.values()) unfollow();
    for (const s of this.subscriptions) s.dispose();
  }

  private create(id: string, notebookType: string): vscode.NotebookController {
    const controller = vscode.notebooks.createNotebookController(id, notebookType, 'subcell', (cells, notebook) =>
      mayRunCode() ? this.run(notebook, cells) : undefined,
    );
    controller.supportedLanguages = ['python'];
    controller.supportsExecutionOrder = true;
    controller.description = 'Python in a subcell session';
    controller.detail = 'Each notebook is a CPython subinterpreter in one shared subcell server';
    controller.interruptHandler = async (notebook) => this.sessionFor(notebook).interrupt();
    controller.onDidChangeSelectedNotebooks(({ notebook, selected }) => {
      if (selected) this.selected.add(notebook.uri.toString());
      else this.selected.delete(notebook.uri.toString());
      for (const listener of this.selectionListeners) listener();
    });
    return controller;
  }

  // Frames of cells sent from the file point into the file; others say
  // which cell they are, as Jupyter does ("Cell In[3], line 2").
  private traceback(error: PythonError, session: DocumentSession, file: vscode.Uri | undefined): string {
    return rewriteTraceback(error.traceback, (count, line) => {
      const region = file ? session.history.byExecutionCount(count)?.region : undefined;
      if (region && file) return `File "${file.scheme === 'file' ? file.fsPath : path.posix.basename(file.path)}", line ${region.firstLine + line}`;
      return `Cell In[${count}], line ${line}`;
    });
  }

  private async closed(notebook: vscode.NotebookDocument): Promise<void> {
    const key = notebook.uri.toString();
    this.selected.delete(key);
    this.followed.get(key)?.();
    this.followed.delete(key);
    // An Interactive Window for a file shares the file's session: leave it open.
    if (this.sourceFiles.delete(key)) return;
    await this.registry.close(key);
  }
}

function regionOf(cell: vscode.NotebookCell, file: vscode.Uri): CodeRegion | undefined {
  const source = cell.metadata?.subcell as SourceMetadata | undefined;
  if (!source || source.file !== file.toString()) return undefined;
  return { firstLine: source.firstLine, lineCount: source.lineCount };
}
