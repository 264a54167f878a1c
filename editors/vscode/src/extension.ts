// Entry point: wires the parts together and nothing else. The logic lives in
// src/core (no `vscode` import, tested against the real server) and the
// editor glue in src/vscode.

import * as vscode from 'vscode';
import { SessionRegistry } from './core/sessionRegistry';
import { ServerSupervisor } from './core/serverSupervisor';
import { CellContext } from './vscode/cellContext';
import { CellLenses } from './vscode/cellLenses';
import { registerCommands } from './vscode/commands';
import { DocumentViews } from './vscode/documentViews';
import { ErrorDiagnostics } from './vscode/errorDiagnostics';
import { InlineOutput } from './vscode/inlineOutput';
import { InteractiveWindows } from './vscode/interactiveWindow';
import { NotebookKernels } from './vscode/notebookKernels';
import { OutputView } from './vscode/outputView';
import { ServerStatus } from './vscode/serverStatus';
import * as settings from './vscode/settings';

let supervisor: ServerSupervisor | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const version = String(context.extension.packageJSON.version ?? '');
  // The log channel exists before the server, which writes to it.
  let status: ServerStatus | undefined;
  const log = (line: string) => status?.log(line);
  supervisor = new ServerSupervisor(settings.supervisorOptions(version, log));
  status = new ServerStatus(supervisor);

  const registry = new SessionRegistry(supervisor, { stopOnError: settings.stopOnError, maxOutputChars: settings.maxOutputChars });
  const outputView = new OutputView(registry);
  const inline = new InlineOutput(registry, settings.shapingLimits);
  const diagnostics = new ErrorDiagnostics(registry);
  const lenses = new CellLenses();
  const cellContext = new CellContext((key) => registry.get(key)?.isBusy ?? false);
  const views = new DocumentViews(registry, inline, diagnostics, cellContext, outputView);
  const kernels = new NotebookKernels(registry);
  const windows = new InteractiveWindows(kernels, context.extension.id);

  context.subscriptions.push(
    status,
    outputView,
    inline,
    diagnostics,
    lenses,
    views,
    kernels,
    cellContext,
    ...registerCommands({ registry, supervisor, outputView, windows, kernels, status }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!settings.affectsServer(event)) return;
      supervisor?.configure(settings.supervisorOptions(version, log));
      if (!supervisor?.current) return; // the next start uses them
      void vscode.window.showInformationMessage('subcell: the new server settings apply when the server restarts.', 'Restart Server').then((choice) => {
        if (choice) void vscode.commands.executeCommand('subcell.restartServer');
      });
    }),
  );
}

/** `shutdown` then `exit`: sessions close and the server exits cleanly. */
export async function deactivate(): Promise<void> {
  await supervisor?.dispose();
  supervisor = undefined;
}
