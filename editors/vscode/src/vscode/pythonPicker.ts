// "subcell: Choose the Python of This Session" (the status bar item's
// click): a list of the Pythons found (core/pythonCandidates.ts), the
// default, or a path typed in. The choice is kept for the document and its
// session is reopened on it at once, so a Python the server cannot run is
// reported now, the session staying as it was.

import * as os from 'node:os';
import * as vscode from 'vscode';
import { condaEnvList, findPythons, PythonCandidate } from '../core/pythonCandidates';
import { PythonChoice } from '../core/sessionPlacement';
import { SessionRegistry } from '../core/sessionRegistry';
import { NotebookKernels } from './notebookKernels';
import { SessionTarget, sessionTarget } from './sessionTarget';
import { mayRunCode } from './workspaceTrust';

export const pickPythonCommand = 'subcell.pickPython';

const systemPythons = ['/usr/bin/python3', '/usr/local/bin/python3'];
const enterPath = 'Enter an interpreter path…';

interface Choice extends vscode.QuickPickItem {
  /** A path, `server`, `default` (no choice), or `path` (ask for one). */
  python: string;
}

async function choices(defaultLabel: string, serverPython: string | undefined): Promise<Choice[]> {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const found = await findPythons({ folders, home: os.homedir(), condaEnvs: () => condaEnvList(), system: systemPythons });
  return [
    { label: '$(gear) Default', description: defaultLabel, python: 'default' },
    { label: "$(server) subcell's own Python", description: serverPython ? `CPython ${serverPython}, embedded in the server` : 'embedded in the server', python: 'server' },
    ...found.map((c: PythonCandidate) => ({ label: c.label, description: c.executable, python: c.executable })),
    { label: `$(folder-opened) ${enterPath}`, python: 'path' },
  ];
}

async function askPath(): Promise<string | undefined> {
  const typed = await vscode.window.showInputBox({
    title: 'subcell: the Python to run on',
    prompt: 'An interpreter (/usr/bin/python3.11, .venv/bin/python) or an environment folder (a venv, a conda env)',
    ignoreFocusOut: true,
  });
  return typed?.trim() || undefined;
}

async function usePython(target: SessionTarget, python: PythonChoice): Promise<void> {
  const result = await target.session.usePython(python);
  if (!result.ok) {
    const which = python === 'server' ? "subcell's own Python" : (python ?? 'the default Python');
    void vscode.window.showErrorMessage(`subcell: ${which} cannot run ${target.name}: ${result.failure.message}`);
    return;
  }
  const where = result.value;
  const on = where.python ? `Python ${where.python.version} (${where.python.executable})` : 'the default Python';
  void vscode.window.showInformationMessage(`subcell: ${target.name} runs on ${on}, in ${where.isolation === 'process' ? 'a process' : 'an interpreter'}; its variables start afresh.`);
}

// The choice as the session takes it: a path, `server`, or undefined (the default).
async function resolve(picked: Choice): Promise<{ python: PythonChoice } | undefined> {
  if (picked.python === 'default') return { python: undefined };
  if (picked.python !== 'path') return { python: picked.python };
  const typed = await askPath();
  return typed ? { python: typed } : undefined;
}

export function registerPythonPicker(registry: SessionRegistry, kernels: NotebookKernels, defaultLabel: () => string): vscode.Disposable {
  return vscode.commands.registerCommand(pickPythonCommand, async (arg?: unknown) => {
    const target = sessionTarget(registry, kernels, arg);
    if (!target || !mayRunCode()) return;
    const serverPython = registry.supervisor.current?.info.python.version;
    const picked = await vscode.window.showQuickPick(choices(defaultLabel(), serverPython), {
      title: `subcell: the Python ${target.name} runs on`,
      placeHolder: target.session.placement.python ?? "subcell's own Python",
      matchOnDescription: true,
    });
    const choice = picked && (await resolve(picked));
    if (choice) await usePython(target, choice.python);
  });
}
