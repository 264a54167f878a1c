// The subcell wire protocol as TypeScript types: a mirror of
// protocol/README.md and protocol/subcell.schema.json. Field names are the
// wire's (camelCase). Nothing here does anything; it only names shapes.

export type SessionId = string;
/** Whatever the client chose for a cell, echoed back untouched. */
export type CellId = string | number | null;

/** MIME type → data, as in Jupyter; `text/plain` is always present. */
export interface MimeBundle {
  'text/plain': string;
  [mime: string]: unknown;
}

export interface Frame {
  file: string;
  /** 1-based, relative to the cell's code when the frame is in a cell. */
  line: number | null;
  function: string;
  source: string;
  executionCount?: number;
  cell?: CellId;
}

export interface ErrorLocation {
  file: string;
  line: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  executionCount?: number;
  cell?: CellId;
}

/** What the client could offer the user about an error (a button, a Quick Fix). */
export interface Suggestion {
  action: 'restartInProcess';
  message: string;
  modules: string[];
}

/** An exception chained to a cell's error, or a member of an ExceptionGroup. */
export interface ErrorLink {
  /** How this link leads to the next one (absent for group members). */
  relation?: 'cause' | 'context';
  type: string;
  message: string;
  frames: Frame[];
  notes?: string[];
  exceptions?: ErrorLink[];
}

/** A Python exception raised by a cell: plain data formatted in the session. */
export interface PythonError {
  type: string;
  message: string;
  traceback: string;
  frames: Frame[];
  location?: ErrorLocation;
  suggestion?: Suggestion;
  notes?: string[];
  /** ExceptionGroup members, in order. */
  exceptions?: ErrorLink[];
  /** The exceptions chained to this one, the first cause first. */
  chain?: ErrorLink[];
}

export type Isolation = 'interpreter' | 'process' | 'auto';
/** Where a session runs now (an `auto` session starts as an interpreter). */
export type Placement = 'interpreter' | 'process';

export interface Limits {
  memoryMB?: number;
  cellTimeoutSeconds?: number;
}

export interface PythonInfo {
  version: string;
  executable: string;
  prefix: string;
}

export interface InitializationOptions {
  poolSize?: number;
  prelude?: string;
  isolation?: Isolation;
  limits?: Limits;
  python?: string;
}

export interface InitializeParams {
  processId?: number | null;
  clientInfo?: { name: string; version?: string };
  capabilities?: { input?: boolean };
  initializationOptions?: InitializationOptions | null;
}

export interface InitializeResult {
  serverInfo: { name: 'subcell'; version: string };
  python: { version: string; ownGil: boolean };
  capabilities: {
    interrupt: { bytecode: boolean; sleep: boolean; lockWaits: boolean; blockingCalls: boolean };
    display: boolean;
    reset: boolean;
    complete: boolean;
    isolation?: { modes: Isolation[]; default: Isolation };
  };
  limits: { maxMessageBytes: number; outputChannelBytes: number };
}

export interface OpenParams {
  session?: SessionId;
  cwd?: string;
  name?: string;
  isolation?: Isolation;
  limits?: Limits;
  /** An interpreter's path or an environment's directory. */
  python?: string;
}
export interface OpenResult {
  session: SessionId;
  pooled: boolean;
  isolation: Placement;
  pid: number;
  python?: PythonInfo;
}
export interface RestartParams {
  session: SessionId;
  isolation?: Isolation;
}
export interface CloseResult {
  interpreter: 'ended' | 'parked' | 'abandoned' | 'killed';
  cancelledCells: number;
  strayThreads: number;
}
export interface SessionSummary {
  session: SessionId;
  name?: string;
  state: 'idle' | 'busy' | 'closing';
  cellsRun: number;
  queuedCells: number;
  isolation: Placement;
  pid: number;
  python?: PythonInfo;
}
export interface ListResult {
  sessions: SessionSummary[];
}
export interface ResetResult {
  removedNames: number;
  durationMs: number;
}

export interface RunParams {
  session: SessionId;
  code: string;
  cell?: CellId;
  stopOnError?: boolean;
}
/** The session's `(value, error)` tuple: at most one of the two is set. */
export interface RunResult {
  executionCount: number;
  durationMs: number;
  value: MimeBundle | null;
  error: PythonError | null;
}
export interface InterruptResult {
  interrupted: boolean;
  cancelledCells: number;
}
export interface CompleteResult {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}
/** `cell/complete` and `cell/inspect`: `cursor` counts Unicode code points. */
export interface CodeAtCursor {
  session: SessionId;
  code: string;
  cursor?: number;
}
export interface InspectResult {
  found: boolean;
  name?: string;
  type?: string;
  signature?: string;
  docstring?: string;
  repr?: string;
}
export interface Variable {
  name: string;
  type: string;
  repr: string;
  length?: number;
  shape?: number[];
}
export interface VariablesResult {
  variables: Variable[];
  total: number;
  offset: number;
}

export interface StartedParams {
  session: SessionId;
  cell: CellId;
  executionCount: number;
}
export interface OutputParams {
  session: SessionId;
  cell: CellId;
  executionCount: number;
  stream: 'stdout' | 'stderr';
  text: string;
  /** Written by a thread after the cell that started it had finished. */
  late?: true;
}
export interface DisplayParams {
  session: SessionId;
  cell: CellId;
  executionCount: number;
  data: MimeBundle;
  displayId?: string;
  /** Replaces every output shown with `displayId`; adds nothing. */
  update?: boolean;
}
export interface ClearParams {
  session: SessionId;
  cell: CellId;
  executionCount: number;
  /** Clear when the cell's next output arrives instead of at once. */
  wait: boolean;
}
/** A server → client request: a cell reads its standard input. */
export interface InputParams {
  session: SessionId;
  cell: CellId;
  executionCount: number;
  prompt: string;
  password: boolean;
}
/** What the user typed (without the newline), or `eof`: the input has ended (EOFError in the cell). */
export type InputResult = { text: string } | { eof: true };
export interface CrashedParams {
  session: SessionId;
  cause: 'signal' | 'exit' | 'timeLimit';
  signal?: string;
  exitCode?: number;
  message: string;
  /** The last lines the worker wrote to its standard error. */
  stderr: string;
}
export interface ChangedParams {
  session: SessionId;
  isolation: Placement;
  previous: Placement;
  reason: string;
  modules?: string[];
  pid: number;
}

export const Method = {
  initialize: 'initialize',
  initialized: 'initialized',
  shutdown: 'shutdown',
  exit: 'exit',
  open: 'session/open',
  close: 'session/close',
  list: 'session/list',
  reset: 'session/reset',
  restart: 'session/restart',
  variables: 'session/variables',
  run: 'cell/run',
  interrupt: 'cell/interrupt',
  complete: 'cell/complete',
  inspect: 'cell/inspect',
  input: 'cell/input',
  started: 'cell/started',
  output: 'cell/output',
  display: 'cell/display',
  clear: 'cell/clear',
  crashed: 'session/crashed',
  changed: 'session/changed',
} as const;

/** JSON-RPC error codes the server sends (protocol/README.md, "Error codes"). */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ServerNotInitialized: -32002,
  RequestCancelled: -32800,
  UnknownSession: -32010,
  SessionExists: -32011,
  SessionStartFailed: -32012,
  SessionCrashed: -32013,
  ChannelClosed: -32014,
  /** `session/variables` or `cell/inspect` not answered within 2 s: the cell holds the interpreter in a long C call. */
  SessionBusy: -32015,
} as const;
