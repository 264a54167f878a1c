// Which document's session a command, the status bar or the Variables view
// is about: the one a URI names (a `# %%` file or a notebook), else the
// active editor's. A notebook cell's editor means its notebook; an
// Interactive Window means the file it runs for (they share a session).

import * as vscode from 'vscode';
import { DocumentSession } from '../core/documentSession';
import { SessionRegistry } from '../core/sessionRegistry';
import { identityOf } from './documentIdentity';
import { NotebookKernels } from './notebookKernels';

export interface SessionTarget {
  key: string;
  /** The document's name, for messages. */
  name: string;
  session: DocumentSession;
}

export const notebookCellScheme = 'vscode-notebook-cell';

function notebookTarget(kernels: NotebookKernels, notebook: vscode.NotebookDocument): SessionTarget {
  const session = kernels.sessionFor(notebook);
  return { key: kernels.sessionKeyFor(notebook), name: session.name, session };
}

function textTarget(registry: SessionRegistry, uri: vscode.Uri): SessionTarget {
  const identity = identityOf(uri);
  return { key: identity.key, name: identity.name, session: registry.getOrCreate(identity) };
}

/** The notebook a cell's document belongs to. */
export function notebookOfCell(uri: vscode.Uri): vscode.NotebookDocument | undefined {
  return vscode.workspace.notebookDocuments.find((n) => n.getCells().some((c) => c.document.uri.toString() === uri.toString()));
}

/** The session of the document `arg` names (a Uri or its string), else of the active editor. */
export function sessionTarget(registry: SessionRegistry, kernels: NotebookKernels, arg?: unknown): SessionTarget | undefined {
  const uri = typeof arg === 'string' ? vscode.Uri.parse(arg) : arg instanceof vscode.Uri ? arg : undefined;
  if (uri) {
    const notebook = vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === uri.toString()) ?? (uri.scheme === notebookCellScheme ? notebookOfCell(uri) : undefined);
    return notebook ? notebookTarget(kernels, notebook) : textTarget(registry, uri);
  }
  const editor = vscode.window.activeTextEditor;
  const notebook = vscode.window.activeNotebookEditor?.notebook;
  if (editor && editor.document.uri.scheme !== notebookCellScheme && editor.document.languageId === 'python') return textTarget(registry, editor.document.uri);
  return notebook ? notebookTarget(kernels, notebook) : undefined;
}

/** The session of the active editor only if it exists already (nothing is created). */
export function activeSessionTarget(registry: SessionRegistry, kernels: NotebookKernels): SessionTarget | undefined {
  const editor = vscode.window.activeTextEditor;
  const notebook = vscode.window.activeNotebookEditor?.notebook;
  let key: string | undefined;
  if (editor && editor.document.uri.scheme !== notebookCellScheme && editor.document.languageId === 'python') key = editor.document.uri.toString();
  else if (notebook) key = kernels.sessionKeyFor(notebook);
  const session = key ? registry.get(key) : undefined;
  return key && session ? { key, name: session.name, session } : undefined;
}
