// "subcell: Variables", a tree view in the Explorer: the user's variables
// in the session of the active `# %%` file or notebook (name, type, size,
// repr), a page at a time ("Load more"). It reloads when a cell of that
// session finishes, when another document becomes active, and on demand
// (the view's refresh button) — also while a cell runs: the server answers
// `session/variables` between the running cell's bytecodes.

import * as vscode from 'vscode';
import { DocumentSession } from '../core/documentSession';
import { ErrorCode, Variable, VariablesResult } from '../core/protocol';
import { fail, Failure } from '../core/result';
import { SessionRegistry } from '../core/sessionRegistry';
import { shortType, sizeText, variableLine, VariablePages } from '../core/variablePages';
import { NotebookKernels } from './notebookKernels';
import { activeSessionTarget } from './sessionTarget';

export const variablesViewId = 'subcell.variables';
export const refreshVariablesCommand = 'subcell.refreshVariables';
export const moreVariablesCommand = 'subcell.moreVariables';

type Node = { kind: 'variable'; variable: Variable } | { kind: 'more'; remaining: number };

export class VariablesView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changes.event;
  private readonly view: vscode.TreeView<Node>;
  private shown: { key: string; session: DocumentSession; pages: VariablePages } | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly registry: SessionRegistry,
    private readonly kernels: NotebookKernels,
  ) {
    this.view = vscode.window.createTreeView(variablesViewId, { treeDataProvider: this });
    this.subscriptions = [
      this.view,
      vscode.commands.registerCommand(refreshVariablesCommand, () => this.refresh()),
      vscode.commands.registerCommand(moreVariablesCommand, () => this.more()),
      vscode.window.onDidChangeActiveTextEditor(() => void this.refresh()),
      vscode.window.onDidChangeActiveNotebookEditor(() => void this.refresh()),
    ];
    registry.onRunChange((key, run) => {
      if (!run.isActive && key === this.shown?.key) void this.refresh();
    });
    registry.onSessionEvent((key, event) => {
      if (key === this.currentKey() && event.kind !== 'display') void this.refresh();
    });
    void this.refresh();
  }

  /** Reloads the variables of the active document's session. */
  async refresh(): Promise<void> {
    // Another kind of editor (the output view, a settings file) keeps the list shown.
    const shown = this.shown && { key: this.shown.key, name: this.shown.session.name, session: this.shown.session };
    const target = activeSessionTarget(this.registry, this.kernels) ?? (this.activeIsOther() ? shown : undefined);
    if (!target?.session.live) {
      this.shown = undefined;
      this.view.message = target ? `${target.name}: no session yet. Run a cell.` : 'Open a # %% file or a notebook that ran cells.';
      this.view.description = undefined;
      this.changes.fire();
      return;
    }
    if (this.shown?.key !== target.key || this.shown.session !== target.session) {
      const session = target.session;
      this.shown = { key: target.key, session, pages: new VariablePages((offset, limit) => this.fetch(session, offset, limit)) };
    }
    const shownNow = this.shown;
    const loaded = await shownNow.pages.reload();
    if (this.shown !== shownNow) return; // another document became active meanwhile
    this.view.description = target.name;
    this.view.message = loaded.ok ? (shownNow.pages.total === 0 ? `${target.name}: no variables.` : undefined) : failureMessage(target.name, loaded.failure);
    this.changes.fire();
  }

  getChildren(node?: Node): Node[] {
    if (node || !this.shown) return [];
    const nodes: Node[] = this.shown.pages.variables.map((variable) => ({ kind: 'variable', variable }));
    if (this.shown.pages.remaining > 0) nodes.push({ kind: 'more', remaining: this.shown.pages.remaining });
    return nodes;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'more') {
      const item = new vscode.TreeItem(`Load more (${node.remaining.toLocaleString('en-US')} left)`);
      item.command = { title: 'Load more', command: moreVariablesCommand };
      return item;
    }
    const { variable } = node;
    const item = new vscode.TreeItem(variable.name);
    item.description = variableLine(variable);
    item.tooltip = new vscode.MarkdownString().appendCodeblock(`${variable.name}: ${variable.type}${sizeText(variable) ? ` (${sizeText(variable)})` : ''}\n${variable.repr}`, 'text');
    item.contextValue = shortType(variable.type);
    return item;
  }

  dispose(): void {
    this.changes.dispose();
    for (const s of this.subscriptions) s.dispose();
  }

  private fetch(session: DocumentSession, offset: number, limit: number) {
    const live = session.live;
    return live ? this.registry.supervisor.variables(live, offset, limit) : Promise.resolve(fail<VariablesResult>('unknown-session', 'the session has ended'));
  }

  private activeIsOther(): boolean {
    const document = vscode.window.activeTextEditor?.document;
    return !vscode.window.activeNotebookEditor && (!document || document.languageId !== 'python');
  }

  private currentKey(): string | undefined {
    return activeSessionTarget(this.registry, this.kernels)?.key;
  }

  private async more(): Promise<void> {
    if (!this.shown) return;
    await this.shown.pages.more();
    this.changes.fire();
  }
}

// A cell in one long C call holds the interpreter: the rows shown stay, from before.
function failureMessage(name: string, failure: Failure): string {
  if (failure.code === ErrorCode.SessionBusy) return `${name} is busy in a long C call: these are its variables from before.`;
  return `${name}: ${failure.message}`;
}
