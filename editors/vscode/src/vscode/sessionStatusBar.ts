// A status bar item for the active `# %%` file or notebook: the Python its
// session runs on and where ("subcell: 3.11 · process"), or "subcell" before
// it has a session. Clicking it picks another Python (pythonPicker.ts).

import * as vscode from 'vscode';
import { hasCellMarkers } from '../core/cells';
import { placementDetail, placementLabel } from '../core/sessionReport';
import { SessionRegistry } from '../core/sessionRegistry';
import { NotebookKernels } from './notebookKernels';
import { pickPythonCommand } from './pythonPicker';
import { notebookCellScheme } from './sessionTarget';

export class SessionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('subcell.session', vscode.StatusBarAlignment.Right, 100);
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly registry: SessionRegistry,
    private readonly kernels: NotebookKernels,
  ) {
    this.item.name = 'subcell session';
    this.subscriptions = [
      this.item,
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.update()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) this.update();
      }),
    ];
    registry.onSessionEvent(() => this.update());
    kernels.onSelectionChange(() => this.update());
    this.update();
  }

  update(): void {
    const target = this.target();
    if (!target) {
      this.item.hide();
      return;
    }
    const where = this.registry.get(target.key)?.where;
    this.item.text = `$(symbol-misc) ${placementLabel(where)}`;
    this.item.tooltip = placementDetail(target.name, where);
    // A plain command id: the picker acts on the active document. A command
    // with arguments is re-registered by VS Code at each change of the item,
    // and a click on a just-replaced one fails ("Actual command not found").
    this.item.command = pickPythonCommand;
    this.item.show();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }

  // A Python file with cells, or a notebook (a cell's editor means its notebook).
  private target(): { key: string; name: string } | undefined {
    const editor = vscode.window.activeTextEditor;
    const notebook = vscode.window.activeNotebookEditor?.notebook;
    if (editor && editor.document.uri.scheme !== notebookCellScheme) {
      if (editor.document.languageId !== 'python' || !hasCellMarkers(editor.document.getText())) return undefined;
      const key = editor.document.uri.toString();
      return { key, name: this.registry.identity(key)?.name ?? editor.document.uri.path.split('/').pop()! };
    }
    if (!notebook) return undefined;
    const key = this.kernels.sessionKeyFor(notebook);
    // VS Code tells no extension which kernel a notebook shows until one is
    // picked (an only kernel is shown without being "selected"): every
    // notebook subcell can run gets the item.
    if (notebook.notebookType !== 'jupyter-notebook' && notebook.notebookType !== 'interactive') return undefined;
    return { key, name: this.registry.identity(key)?.name ?? notebook.uri.path.split('/').pop()! };
  }
}
