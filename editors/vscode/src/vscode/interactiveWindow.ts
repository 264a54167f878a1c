// "Run in Interactive Window": opens VS Code's Interactive Window (a notebook
// of type `interactive`) with the subcell controller preselected, appends the
// cells sent from a `# %%` file, and runs them. One window per file; the
// window shares the file's session (see notebookKernels.ts).

import * as path from 'node:path';
import * as vscode from 'vscode';
import { Cell } from '../core/cells';
import { interactiveControllerId, NotebookKernels, SourceMetadata } from './notebookKernels';

interface OpenedWindow {
  notebookUri: vscode.Uri;
  inputUri?: vscode.Uri;
  notebookEditor?: vscode.NotebookEditor;
}

export class InteractiveWindows {
  private readonly windows = new Map<string, vscode.Uri>();

  constructor(
    private readonly kernels: NotebookKernels,
    private readonly extensionId: string,
  ) {}

  /** Appends the cells to the file's Interactive Window and runs them there. */
  async send(document: vscode.TextDocument, cells: readonly Cell[]): Promise<void> {
    if (cells.length === 0) return;
    const notebook = await this.windowFor(document);
    const start = notebook.cellCount;
    const data = cells.map((cell) => {
      const cellData = new vscode.NotebookCellData(vscode.NotebookCellKind.Code, cell.code.replace(/\n$/, ''), 'python');
      const source: SourceMetadata = { file: document.uri.toString(), firstLine: cell.codeStartLine, lineCount: cell.codeLineCount };
      cellData.metadata = { subcell: source };
      return cellData;
    });
    const edit = new vscode.WorkspaceEdit();
    edit.set(notebook.uri, [vscode.NotebookEdit.insertCells(start, data)]);
    await vscode.workspace.applyEdit(edit);
    const added = notebook.getCells(new vscode.NotebookRange(start, start + data.length));
    if (this.kernels.isSelectedFor(notebook)) {
      await this.kernels.run(notebook, added);
    } else {
      // Another kernel is selected in that window: let VS Code run them with it.
      await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start, end: start + data.length }], document: notebook.uri });
    }
  }

  private async windowFor(document: vscode.TextDocument): Promise<vscode.NotebookDocument> {
    const key = document.uri.toString();
    const known = this.windows.get(key);
    const open = known && vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === known.toString());
    if (open) return open;
    const title = `subcell: ${path.posix.basename(document.uri.path)}`;
    const opened = await vscode.commands.executeCommand<OpenedWindow>(
      'interactive.open',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      undefined,
      `${this.extensionId}/${interactiveControllerId}`,
      title,
    );
    const notebook = vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === opened.notebookUri.toString())
      ?? (await vscode.workspace.openNotebookDocument(opened.notebookUri));
    this.windows.set(key, notebook.uri);
    this.kernels.link(notebook, document.uri);
    return notebook;
  }
}
