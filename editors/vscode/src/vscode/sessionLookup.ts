// The open session of the document a hover or a completion is asked in: a
// `# %%` file's own, or the notebook's when the document is a notebook cell.
// Never opens one: asking about names needs a session that ran something.

import * as vscode from 'vscode';
import { DocumentSession } from '../core/documentSession';
import { SessionRegistry } from '../core/sessionRegistry';
import { NotebookKernels } from './notebookKernels';
import { notebookCellScheme, notebookOfCell } from './sessionTarget';

export function liveSessionOf(document: vscode.TextDocument, registry: SessionRegistry, kernels: NotebookKernels): DocumentSession | undefined {
  let key = document.uri.toString();
  if (document.uri.scheme === notebookCellScheme) {
    const notebook = notebookOfCell(document.uri);
    if (!notebook) return undefined;
    key = kernels.sessionKeyFor(notebook);
  }
  const session = registry.get(key);
  return session?.live ? session : undefined;
}
