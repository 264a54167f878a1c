// Tells the user about the server: its log (the "subcell" output channel),
// a warning naming the sessions lost when it dies, an error when it cannot
// start (with a way to fix the path).

import * as vscode from 'vscode';
import { describeLoss } from '../core/lossReport';
import { ServerSupervisor } from '../core/serverSupervisor';

export class ServerStatus implements vscode.Disposable {
  readonly log = vscode.window.createOutputChannel('subcell');

  constructor(supervisor: ServerSupervisor) {
    supervisor.onStart((started) => {
      if (started.ok) {
        const info = started.value.info;
        this.log.appendLine(`started subcell ${info.serverInfo.version} (pid ${started.value.pid}), Python ${info.python.version}`);
        return;
      }
      this.log.appendLine(started.failure.message);
      void vscode.window
        .showErrorMessage(`subcell: ${started.failure.message.split('\n')[0]}. Is "subcell.serverPath" set to the subcell binary?`, 'Open Settings', 'Show Log')
        .then((choice) => this.act(choice));
    });
    supervisor.onLoss((loss) => {
      const message = describeLoss(loss);
      for (const line of loss.exit.stderrTail) this.log.appendLine(`  ${line}`);
      if (!message) return;
      this.log.appendLine(message);
      void vscode.window.showWarningMessage(message, 'Show Log').then((choice) => this.act(choice));
    });
  }

  show(): void {
    this.log.show(true);
  }

  dispose(): void {
    this.log.dispose();
  }

  private act(choice: string | undefined): void {
    if (choice === 'Show Log') this.show();
    if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'subcell.serverPath');
  }
}
