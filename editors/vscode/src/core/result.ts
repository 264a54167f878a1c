// Errors as values at the boundary with the server: every request answers a
// Result, never throws, so callers decide in one place what a user sees.

export type FailureKind =
  /** The binary could not be started or did not initialize. */
  | 'spawn-failed'
  /** The server exited (or was stopped) before it answered. */
  | 'server-gone'
  /** A queued cell removed by an interrupt, cancel or close (RequestCancelled). */
  | 'cancelled'
  /** The session is not open on this server (UnknownSession). */
  | 'unknown-session'
  /** The session ended by itself before answering (SessionCrashed): see `session/crashed`. */
  | 'crashed'
  /** Any other JSON-RPC error: protocol misuse or a server bug. */
  | 'protocol';

export interface Failure {
  kind: FailureKind;
  message: string;
  /** The JSON-RPC error code, when the server sent one. */
  code?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(kind: FailureKind, message: string, code?: number): Result<T> {
  return { ok: false, failure: code === undefined ? { kind, message } : { kind, message, code } };
}
