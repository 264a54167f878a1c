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

/** A Python exception raised by a cell: plain data formatted in the session. */
export interface PythonError {
  type: string;
  message: string;
  traceback: string;
  frames: Frame[];
  location?: ErrorLocation;
}

export interface InitializeParams {
  processId?: number | null;
  clientInfo?: { name: string; version?: string };
  initializationOptions?: { poolSize?: number; prelude?: string } | null;
}

export interface InitializeResult {
  serverInfo: { name: 'subcell'; version: string };
  python: { version: string; ownGil: boolean };
  capabilities: {
    interrupt: { bytecode: boolean; sleep: boolean; lockWaits: boolean; blockingCalls: boolean };
    display: boolean;
    reset: boolean;
    complete: boolean;
  };
  limits: { maxMessageBytes: number; outputChannelBytes: number };
}

export interface OpenParams {
  session?: SessionId;
  cwd?: string;
  name?: string;
}
export interface OpenResult {
  session: SessionId;
  pooled: boolean;
}
export interface CloseResult {
  interpreter: 'ended' | 'parked';
  cancelledCells: number;
  strayThreads: number;
}
export interface SessionSummary {
  session: SessionId;
  name?: string;
  state: 'idle' | 'busy' | 'closing';
  cellsRun: number;
  queuedCells: number;
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
}
export interface DisplayParams {
  session: SessionId;
  cell: CellId;
  executionCount: number;
  data: MimeBundle;
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
  run: 'cell/run',
  interrupt: 'cell/interrupt',
  complete: 'cell/complete',
  started: 'cell/started',
  output: 'cell/output',
  display: 'cell/display',
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
} as const;
