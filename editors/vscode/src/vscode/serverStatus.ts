// Tells the user about the server: its log (the "subcell" output channel),
// a warning naming the sessions lost when it dies, an error when it cannot
// start (saying where "subcell.serverPath" goes).
//
// VS Code disposes the extension's subscriptions, this channel among them,
// right after it calls `deactivate`, without waiting for the promise it
// returns; the server's last stderr lines and its exit arrive after that.
// So once disposed, this object writes nothing and shows nothing: an output
// channel throws "Channel has been closed" when written to after dispose.

import * as vscode from 'vscode';
import { describeLoss, describeStartFailure } from '../core/lossReport';
import { ServerSupervisor } from '../core/serverSupervisor';

export class ServerStatus implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('subcell');
  private disposed = false;
  private readonly unsubscribe: Array<() => void>;

  constructor(supervisor: ServerSupervisor) {
    this.unsubscribe = [
      supervisor.onStart((started) => {
        if (started.ok) {
          const info = started.value.info;
          this.log(`started subcell ${info.serverInfo.version} (pid ${started.value.pid}), Python ${info.python.version}`);
          return;
        }
        this.log(started.failure.message);
        const message = describeStartFailure(started.failure.message, vscode.env.remoteName);
        void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Log').then((choice) => this.act(choice));
      }),
      supervisor.onLoss((loss) => {
        const message = describeLoss(loss);
        for (const line of loss.exit.stderrTail) this.log(`  ${line}`);
        if (!message) return;
        this.log(message);
        void vscode.window.showWarningMessage(message, 'Show Log').then((choice) => this.act(choice));
      }),
    ];
  }

  /** Appends a line to the log; does nothing once disposed. */
  log(line: string): void {
    if (!this.disposed) this.channel.appendLine(line);
  }

  show(): void {
    if (!this.disposed) this.channel.show(true);
  }

  dispose(): void {
    this.disposed = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.channel.dispose();
  }

  private act(choice: string | undefined): void {
    if (choice === 'Show Log') this.show();
    if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'subcell.serverPath');
  }
}
