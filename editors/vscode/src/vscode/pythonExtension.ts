// The interpreter selected in the Python extension (ms-python.python), read
// through its public environments API
// (https://github.com/microsoft/vscode-python/wiki/Python-Environment-APIs):
// `environments.getActiveEnvironmentPath(resource)` names it,
// `resolveEnvironment` gives its executable, and
// `onDidChangeActiveEnvironmentPath` says when the user picks another.
// When the extension is not installed (code-server has none) or its API
// fails, `selected` stays undefined and subcell uses its other defaults.

import * as vscode from 'vscode';

interface EnvironmentPath {
  id: string;
  path: string;
}

interface EnvironmentsApi {
  getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
  resolveEnvironment(environment: EnvironmentPath | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
}

interface PythonExtensionApi {
  ready?: Promise<void>;
  environments?: EnvironmentsApi;
}

export const pythonExtensionId = 'ms-python.python';

export class PythonExtensionInterpreter implements vscode.Disposable {
  private current: string | undefined;
  private subscription: vscode.Disposable | undefined;
  private readonly changes = new vscode.EventEmitter<string | undefined>();
  readonly onDidChange = this.changes.event;

  constructor(private readonly log: (line: string) => void) {
    void this.connect();
  }

  /** The selected interpreter's executable, once known. */
  get selected(): string | undefined {
    return this.current;
  }

  dispose(): void {
    this.subscription?.dispose();
    this.changes.dispose();
  }

  private async connect(): Promise<void> {
    const extension = vscode.extensions.getExtension<PythonExtensionApi>(pythonExtensionId);
    if (!extension) return;
    try {
      const api = extension.isActive ? extension.exports : await extension.activate();
      await api?.ready;
      const environments = api?.environments;
      if (!environments) return;
      this.subscription = environments.onDidChangeActiveEnvironmentPath(() => void this.refresh(environments));
      await this.refresh(environments);
    } catch (err) {
      this.log(`the Python extension's environments API is not usable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async refresh(environments: EnvironmentsApi): Promise<void> {
    const active = environments.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri);
    const resolved = await environments.resolveEnvironment(active).catch(() => undefined);
    const executable = resolved?.executable.uri?.fsPath ?? active?.path;
    if (executable === this.current) return;
    this.current = executable;
    this.log(`the Python extension selects ${executable ?? 'no interpreter'}`);
    this.changes.fire(executable);
  }
}
