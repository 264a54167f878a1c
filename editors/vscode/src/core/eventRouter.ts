// Sends each notification of one server to whoever shows it: a cell's
// output, displays and clears to the sink of that cell's run; what concerns
// a whole session (it crashed, it moved to a process, a display shown
// somewhere in it was updated) to the session's listener.
//
// Output a thread writes after its cell finished comes `late`, tagged with
// the cell that started the thread, which may be several cells back: so the
// sinks of a session's recent runs stay registered (the last
// `retainedRuns`), not only the running one's.

import { CellId, ChangedParams, CrashedParams, MimeBundle, SessionId } from './protocol';
import { ServerEvent } from './serverConnection';

/** Receives what a running cell produces, before its result (and late output after it). */
export interface RunSink {
  started(executionCount: number): void;
  write(stream: 'stdout' | 'stderr', text: string): void;
  display(data: MimeBundle, displayId?: string): void;
  /** `clear_output(wait)`: at once, or when the next output of the cell arrives. */
  clear(wait: boolean): void;
}

/** Receives what happens to a session as a whole. */
export interface SessionListener {
  crashed(event: CrashedParams): void;
  changed(event: ChangedParams): void;
  /** Replace every output shown with this display id, in any cell of the session. */
  updateDisplay(displayId: string, data: MimeBundle): void;
}

const retainedRuns = 64;

interface Routes {
  /** Insertion-ordered: the oldest run first. */
  sinks: Map<string, RunSink>;
  listener?: SessionListener;
}

export class EventRouter {
  private readonly sessions = new Map<SessionId, Routes>();

  /** Sends the cell's notifications to `sink` from now on. */
  addRun(session: SessionId, cell: CellId, sink: RunSink): void {
    const routes = this.routes(session);
    routes.sinks.delete(String(cell));
    routes.sinks.set(String(cell), sink);
    while (routes.sinks.size > retainedRuns) routes.sinks.delete(routes.sinks.keys().next().value!);
  }

  /** A run that never reached the server: nothing will come for it. */
  removeRun(session: SessionId, cell: CellId): void {
    this.sessions.get(session)?.sinks.delete(String(cell));
  }

  listen(session: SessionId, listener: SessionListener): void {
    this.routes(session).listener = listener;
  }

  /** The session is gone (closed, crashed): forget its routes. */
  dropSession(session: SessionId): void {
    this.sessions.delete(session);
  }

  /** A new server: every session id of the old one is meaningless. */
  clear(): void {
    this.sessions.clear();
  }

  route(event: ServerEvent): void {
    const routes = this.sessions.get(event.session);
    if (!routes) return;
    switch (event.kind) {
      case 'crashed':
        return routes.listener?.crashed(strip(event));
      case 'changed':
        return routes.listener?.changed(strip(event));
      case 'display':
        if (event.update && event.displayId) return routes.listener?.updateDisplay(event.displayId, event.data);
        return routes.sinks.get(String(event.cell))?.display(event.data, event.displayId);
      case 'started':
        return routes.sinks.get(String(event.cell))?.started(event.executionCount);
      case 'output':
        return routes.sinks.get(String(event.cell))?.write(event.stream, event.text);
      case 'clear':
        return routes.sinks.get(String(event.cell))?.clear(event.wait);
    }
  }

  private routes(session: SessionId): Routes {
    let routes = this.sessions.get(session);
    if (!routes) {
      routes = { sinks: new Map() };
      this.sessions.set(session, routes);
    }
    return routes;
  }
}

function strip<T extends { kind: string }>(event: T): Omit<T, 'kind'> {
  const { kind: _kind, ...params } = event;
  return params;
}
