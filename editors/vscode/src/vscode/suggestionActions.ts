// The `restartInProcess` suggestion as something to click: a Quick Fix on
// its diagnostic in a `# %%` file, and an item in the status bar of the
// notebook cell whose run raised it. Both run "Restart Session in a
// Process" for the document.

import * as vscode from 'vscode';
import { SessionRegistry } from '../core/sessionRegistry';
import { suggestionCode } from './errorDiagnostics';
import { latestRunOf } from './notebookExecution';
import { NotebookKernels } from './notebookKernels';
import { restartInProcessCommand } from './sessionCommands';

export const quickFixTitle = 'Restart the session in a process';

export class SuggestionActions implements vscode.CodeActionProvider, vscode.NotebookCellStatusBarItemProvider, vscode.Disposable {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };
  private readonly changes = new vscode.EventEmitter<void>();
  readonly onDidChangeCellStatusBarItems = this.changes.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    registry: SessionRegistry,
    private readonly kernels: NotebookKernels,
  ) {
    this.subscriptions = [
      vscode.languages.registerCodeActionsProvider({ language: 'python' }, this, SuggestionActions.metadata),
      vscode.notebooks.registerNotebookCellStatusBarItemProvider('jupyter-notebook', this),
      vscode.notebooks.registerNotebookCellStatusBarItemProvider('interactive', this),
    ];
    registry.onRunChange((_key, run) => {
      if (!run.isActive) this.changes.fire();
    });
    registry.onSessionEvent(() => this.changes.fire());
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    return context.diagnostics
      .filter((d) => d.source === 'subcell' && d.code === suggestionCode)
      .map((diagnostic) => {
        const action = new vscode.CodeAction(quickFixTitle, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diagnostic];
        action.isPreferred = true;
        action.command = { title: quickFixTitle, command: restartInProcessCommand, arguments: [document.uri] };
        return action;
      });
  }

  provideCellStatusBarItems(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    const suggestion = latestRunOf(cell)?.error?.suggestion;
    if (suggestion?.action !== 'restartInProcess') return [];
    // Restarted in a process since: nothing left to offer.
    if (this.kernels.sessionFor(cell.notebook).where?.isolation === 'process') return [];
    const item = new vscode.NotebookCellStatusBarItem('$(debug-restart) Restart in a Process', vscode.NotebookCellStatusBarAlignment.Left);
    item.tooltip = suggestion.message;
    item.command = { title: 'Restart in a Process', command: restartInProcessCommand, arguments: [cell.notebook.uri] };
    return [item];
  }

  dispose(): void {
    this.changes.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
