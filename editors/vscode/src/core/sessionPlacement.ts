// Where a document's session runs and on which Python: the editor's
// settings (`subcell.isolation`, the limits, the Python picked for the
// workspace), overridden per document by the user's choices ("Restart
// Session in a Process", a Python picked in the status bar). The overrides
// outlive the session, so a session reopened after a crash or a server
// restart runs where the user last put it.

import { Isolation, Limits, OpenParams } from './protocol';

/** The defaults for new sessions, read when a session opens. */
export interface PlacementDefaults {
  isolation?: Isolation;
  limits?: Limits;
  /** An interpreter path or environment directory; undefined: the server's Python. */
  python?: string;
}

/** The user's choice of Python: a path, `server` (the server's own Python, whatever the settings say), or none. */
export type PythonChoice = string | 'server' | undefined;

export class SessionPlacement {
  private isolationChoice: Isolation | undefined;
  private pythonChoice: PythonChoice;

  constructor(private readonly defaults: () => PlacementDefaults = () => ({})) {}

  get isolation(): Isolation | undefined {
    return this.isolationChoice ?? this.defaults().isolation;
  }

  /** The interpreter to ask for; undefined: the server's own. */
  get python(): string | undefined {
    if (this.pythonChoice === 'server') return undefined;
    return this.pythonChoice ?? this.defaults().python;
  }

  get pythonChoiceMade(): PythonChoice {
    return this.pythonChoice;
  }

  /** The user put this document's session in `isolation`. */
  chooseIsolation(isolation: Isolation): void {
    this.isolationChoice = isolation;
  }

  /** The user picked a Python for this document; undefined goes back to the default. */
  choosePython(python: PythonChoice): void {
    this.pythonChoice = python;
  }

  /** `session/open`'s params: a memory limit only where the server accepts one (not in interpreter sessions). */
  openParams(base: OpenParams): OpenParams {
    const params: OpenParams = { ...base };
    const isolation = this.isolation;
    if (isolation) params.isolation = isolation;
    const limits = { ...this.defaults().limits };
    if (isolation === 'interpreter' || isolation === undefined) delete limits.memoryMB;
    if (Object.keys(limits).length) params.limits = limits;
    const python = this.python;
    if (python) params.python = python;
    return params;
  }
}
