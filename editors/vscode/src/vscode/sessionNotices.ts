// Tells the user what happened to a document's session: a warning when it
// crashed (its cause; the worker's last stderr lines go to the log), an
// information message when the server moved it to a process ("plots.ipynb
// moved to a process because it imports numpy"), and, when a cell failed
// with a `restartInProcess` suggestion, the suggestion with its button. A
// session that did not close cleanly (abandoned, killed) is logged.

import * as vscode from 'vscode';
import { CellRun } from '../core/cellRun';
import { SessionEvent } from '../core/documentSession';
import { crashLogLines, describeChange, describeCrash, describeSuggestion, describeUncleanClose } from '../core/sessionReport';
import { SessionRegistry } from '../core/sessionRegistry';
import { restartInProcessCommand } from './sessionCommands';

export const restartButton = 'Restart in a Process';

export class SessionNotices {
  /** Runs whose suggestion was shown already. */
  private readonly suggested = new WeakSet<CellRun>();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly log: (line: string) => void,
    private readonly showLog: () => void,
  ) {
    registry.onSessionEvent((key, event) => this.sessionEvent(key, event));
    registry.onRunChange((key, run) => this.runChanged(key, run));
  }

  private name(key: string): string {
    return this.registry.identity(key)?.name ?? key;
  }

  private sessionEvent(key: string, event: SessionEvent): void {
    if (event.kind === 'crashed') {
      for (const line of crashLogLines(this.name(key), event.crash)) this.log(line);
      void vscode.window.showWarningMessage(describeCrash(this.name(key), event.crash), 'Show Log').then((choice) => choice && this.showLog());
    } else if (event.kind === 'unclean-close') {
      this.log(describeUncleanClose(this.name(key), event.how));
    } else if (event.kind === 'changed') {
      const message = describeChange(this.name(key), event.change);
      this.log(`${message} (${event.change.reason}; pid ${event.change.pid})`);
      void vscode.window.showInformationMessage(message);
    }
  }

  private runChanged(key: string, run: CellRun): void {
    const suggestion = run.state === 'failed' ? run.error?.suggestion : undefined;
    if (!suggestion || suggestion.action !== 'restartInProcess' || this.suggested.has(run)) return;
    this.suggested.add(run);
    const uri = vscode.Uri.parse(key);
    void vscode.window.showWarningMessage(describeSuggestion(this.name(key), suggestion), restartButton).then((choice) => {
      if (choice === restartButton) void vscode.commands.executeCommand(restartInProcessCommand, uri);
    });
  }
}
