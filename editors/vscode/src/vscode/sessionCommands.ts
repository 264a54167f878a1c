// Commands about where a document's session runs: "Restart Session in a
// Process" (also the action of a `restartInProcess` suggestion: the Quick
// Fix, the notebook cell's status bar item, the notification's button) and
// "Restart Session in an Interpreter". Each takes the document's URI, or
// acts on the active editor's document.

import * as vscode from 'vscode';
import { Isolation } from '../core/protocol';
import { SessionRegistry } from '../core/sessionRegistry';
import { NotebookKernels } from './notebookKernels';
import { sessionTarget } from './sessionTarget';
import { mayRunCode } from './workspaceTrust';

export const restartInProcessCommand = 'subcell.restartInProcess';
export const restartInInterpreterCommand = 'subcell.restartInInterpreter';

const placeName: Record<Isolation, string> = { process: 'a process', interpreter: 'an interpreter', auto: 'auto mode' };

async function restartIn(registry: SessionRegistry, kernels: NotebookKernels, isolation: Isolation, arg: unknown): Promise<void> {
  const target = sessionTarget(registry, kernels, arg);
  if (!target) {
    void vscode.window.showInformationMessage('subcell: open a Python file or a notebook first.');
    return;
  }
  if (!mayRunCode()) return;
  const restarted = await target.session.restart(isolation);
  if (!restarted.ok) {
    void vscode.window.showErrorMessage(`subcell: ${target.name} could not restart in ${placeName[isolation]}: ${restarted.failure.message}`);
    return;
  }
  const where = restarted.value;
  const message = where
    ? `subcell: ${target.name} restarted in ${placeName[isolation]} (pid ${where.pid}); its variables are gone: run its cells again.`
    : `subcell: ${target.name} will run in ${placeName[isolation]} from its next run.`;
  void vscode.window.showInformationMessage(message);
}

export function registerSessionCommands(registry: SessionRegistry, kernels: NotebookKernels): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(restartInProcessCommand, (arg?: unknown) => restartIn(registry, kernels, 'process', arg)),
    vscode.commands.registerCommand(restartInInterpreterCommand, (arg?: unknown) => restartIn(registry, kernels, 'interpreter', arg)),
  ];
}
