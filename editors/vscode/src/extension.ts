// Entry point: wires the parts together and nothing else. The logic lives in
// src/core (no `vscode` import, tested against the real server) and the
// editor glue in src/vscode.

import * as vscode from 'vscode';
import { SessionRegistry } from './core/sessionRegistry';
import { ServerSupervisor, SupervisorOptions } from './core/serverSupervisor';
import { CellContext } from './vscode/cellContext';
import { CellLenses } from './vscode/cellLenses';
import { registerCommands } from './vscode/commands';
import { DocumentViews } from './vscode/documentViews';
import { ErrorDiagnostics } from './vscode/errorDiagnostics';
import { InlineOutput } from './vscode/inlineOutput';
import { inputAnswerer } from './vscode/inputPrompt';
import { InteractiveWindows } from './vscode/interactiveWindow';
import { NotebookKernels } from './vscode/notebookKernels';
import { OutputView } from './vscode/outputView';
import { PythonExtensionInterpreter } from './vscode/pythonExtension';
import { registerPythonPicker } from './vscode/pythonPicker';
import { RichOutputView } from './vscode/richOutputView';
import { ServerStatus } from './vscode/serverStatus';
import { registerSessionCommands } from './vscode/sessionCommands';
import { SessionLanguage } from './vscode/sessionLanguage';
import { SessionNotices } from './vscode/sessionNotices';
import { SessionStatusBar } from './vscode/sessionStatusBar';
import * as settings from './vscode/settings';
import { SuggestionActions } from './vscode/suggestionActions';
import { VariablesView } from './vscode/variablesView';

let supervisor: ServerSupervisor | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const version = String(context.extension.packageJSON.version ?? '');
  // The log channel exists before the server, which writes to it.
  let status: ServerStatus | undefined;
  const log = (line: string) => status?.log(line);
  // cell/input needs the registry (to name the document), which needs the supervisor.
  let answerInput: SupervisorOptions['onInput'];
  const onInput: SupervisorOptions['onInput'] = (params, token) => answerInput!(params, token);
  supervisor = new ServerSupervisor(settings.supervisorOptions(version, log, onInput));
  status = new ServerStatus(supervisor);

  const pythonExtension = new PythonExtensionInterpreter(log);
  // subcell.python when set, else the Python extension's interpreter, else the server's own Python.
  const python = () => settings.pythonSetting() ?? pythonExtension.selected;
  const registry = new SessionRegistry(supervisor, {
    stopOnError: settings.stopOnError,
    maxOutputChars: settings.maxOutputChars,
    placement: () => settings.placementDefaults(python),
  });
  answerInput = inputAnswerer(registry);
  const richOutput = new RichOutputView(registry);
  const outputView = new OutputView(registry, richOutput);
  const inline = new InlineOutput(registry, settings.shapingLimits);
  const diagnostics = new ErrorDiagnostics(registry);
  const lenses = new CellLenses();
  const cellContext = new CellContext((key) => registry.get(key)?.isBusy ?? false);
  const views = new DocumentViews(registry, inline, diagnostics, cellContext, outputView);
  const kernels = new NotebookKernels(registry);
  const windows = new InteractiveWindows(kernels, context.extension.id);
  new SessionNotices(registry, log, () => status?.show());

  context.subscriptions.push(
    status,
    outputView,
    inline,
    diagnostics,
    lenses,
    views,
    kernels,
    cellContext,
    pythonExtension,
    richOutput,
    new SuggestionActions(registry, kernels),
    new SessionLanguage(registry, kernels),
    new VariablesView(registry, kernels),
    new SessionStatusBar(registry, kernels),
    ...registerCommands({ registry, supervisor, outputView, windows, kernels, status }),
    ...registerSessionCommands(registry, kernels),
    registerPythonPicker(registry, kernels, () => python() ?? "the server's own Python"),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!settings.affectsServer(event)) return;
      supervisor?.configure(settings.supervisorOptions(version, log, onInput));
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
