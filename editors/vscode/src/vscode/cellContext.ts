// Context keys about the active editor, for keybindings and menus:
//   subcell.hasCells  a Python document with `# %%` markers: the keybindings
//                     (Shift+Enter...) only apply there, so plain Python files
//                     keep their usual keys;
//   subcell.busy      its session has a cell running or queued: the Interrupt
//                     button in the editor title bar.
// A context key changes in the window at once. A CodeLens cannot: VS Code
// asks for lenses again at least 250 ms after a change and draws them later
// still, so an Interrupt lens would come late and outlast its run.

import * as vscode from 'vscode';
import { hasCellMarkers } from '../core/cells';

export const hasCellsKey = 'subcell.hasCells';
export const busyKey = 'subcell.busy';

export class CellContext implements vscode.Disposable {
  private readonly current = new Map<string, boolean>();
  private readonly subscriptions: vscode.Disposable[];

  /** `isBusy(key)`: whether the session of the document with that URI is busy. */
  constructor(private readonly isBusy: (key: string) => boolean) {
    this.subscriptions = [
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) this.update();
      }),
    ];
    this.update();
  }

  /** Recomputes the keys; call it when a session becomes busy or idle. */
  update(): void {
    const document = vscode.window.activeTextEditor?.document;
    const hasCells = !!document && document.languageId === 'python' && hasCellMarkers(document.getText());
    this.set(hasCellsKey, hasCells);
    this.set(busyKey, !!document && this.isBusy(document.uri.toString()));
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }

  private set(key: string, value: boolean): void {
    if (this.current.get(key) === value) return;
    this.current.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  }
}
