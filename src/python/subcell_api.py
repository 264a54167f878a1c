"""Channels and child interpreters for notebook sessions.

Every subcell session (and every child interpreter) can `import subcell`.
The programming model is PEP 554's (2017): interpreters share nothing, and
talk through channels that carry plain values.

Channels
--------
create_channel() -> (RecvChannel, SendChannel)
    A new anonymous channel. Its ends are plain objects: keep them, pass
    them to a child (`run(code, channels={...})`) or send them through
    another channel.
channel(name) -> (RecvChannel, SendChannel)
    The channel called `name`: the same channel for every session (and the
    client, through `channel/open`) that asks for it. Created on first use;
    once closed, the name starts a new channel.

SendChannel.send(obj, timeout=None)
    Waits until a receiver has taken `obj` (a rendezvous). TimeoutError
    after `timeout` seconds (then it was not received).
SendChannel.send_nowait(obj) -> bool
    Hands `obj` to a receiver waiting right now; False if none was.
SendChannel.send_buffer(obj, timeout=None)
    Lends any buffer-protocol object (bytearray, memoryview, array.array,
    mmap, ...) without copying it: the receiver gets a read-only memoryview
    of this very memory. The object cannot be resized or freed until the
    receiver releases the view (`del view` or `view.release()`); writes to
    it in place are seen by the receiver (it is shared memory). Across
    processes (process sessions) the bytes are copied.
RecvChannel.recv(timeout=None)
    Waits for an object. TimeoutError after `timeout` seconds.
RecvChannel.recv_nowait(default=...)
    An object a sender is waiting to hand over, else `default`
    (ChannelEmpty when no default is given).
close()
    On either end: closes the channel for everyone.

Channels carry bytes, str, int (any size), float, bool, None, tuples of
these, and channel ends; anything else raises TypeError (a buffer goes with
send_buffer()). What a receiver gets is its own copy: a new object in its
own interpreter. Large str and bytes are copied exactly once, straight out
of the sender's object.

EOFError: send and recv raise it on a closed channel, and when nobody else
holds the other end any more: the sessions (or children) that held it were
closed, reset or crashed (as a pipe's reader gets EOF once its writers have
gone). A session's own ends do not count for its own waits.

Every blocking call is interruptible like time.sleep (an interrupt raises
KeyboardInterrupt within a few milliseconds) and takes a timeout.

Child interpreters
------------------
subcell.interpreters.create(prelude=None) -> Interpreter
    A new interpreter with its own GIL, a child of this session: it runs
    in parallel with it, appears in the client's session list under it and
    is closed with it. `prelude` runs in its __main__ first.
subcell.interpreters.get_current() -> Interpreter
subcell.interpreters.list_all() -> [Interpreter]
    This interpreter and its children.

Interpreter.run(code, channels=None) -> (result, err)
    Runs `code` in the child's __main__ like a notebook cell and waits.
    `result` is the value of its last expression when that is shareable
    (what a channel carries), else its repr; None when there is none.
    `err` is None, or a RunError: .type, .message, .traceback (the text
    Python printed in the child), .frames, and .raise_(), which raises a
    local exception (the same builtin type when there is one, else
    ExecutionFailed) whose message includes the child's traceback.
    `channels` binds names in the child's __main__ first (channel ends, or
    any shareable value). An interrupt of the caller interrupts the run.
Interpreter.run_async(code, channels=None) -> RunFuture
    Starts the run and returns at once, so that several children run at
    the same time: .result(timeout=None) -> (result, err), .done().
Interpreter.reset()
    A fresh __main__ in the child (imports stay).
Interpreter.close()
    Ends the child (its threads are stopped, its channel ends released).

What a child prints goes to the output of the parent's running cell, each
line labelled with the child's id.
"""

import sys as _sys

import _subcell_xi as _xi
from _subcell_xi import ChannelEmpty, ChannelError, RecvChannel, SendChannel

__all__ = [
    "create_channel", "channel", "RecvChannel", "SendChannel", "ChannelError", "ChannelEmpty",
    "interpreters", "Interpreter", "RunError", "RunFuture", "ExecutionFailed",
]


def create_channel():
    """create_channel() -> (RecvChannel, SendChannel): a new anonymous channel."""
    return _xi.create_channel()


def channel(name):
    """channel(name) -> (RecvChannel, SendChannel): the channel called `name`,
    the same for every session and client that opens that name."""
    return _xi.channel(name)


class ExecutionFailed(Exception):
    """Raised by RunError.raise_() when the child's exception has no builtin
    type here. `.error` is the RunError."""

    def __init__(self, message, error=None):
        super().__init__(message)
        self.error = error


class RunError:
    """What a child interpreter's run raised, as plain data.

    .type       the exception's qualified type name ("ZeroDivisionError")
    .message    str() of the exception
    .traceback  the traceback text, formatted inside the child
    .frames     [(file, line, function, source)], outermost first
    .interpreter  the id of the child it came from
    """

    __slots__ = ("type", "message", "traceback", "frames", "interpreter")

    def __init__(self, type, message, traceback, frames, interpreter=None):
        self.type = type
        self.message = message
        self.traceback = traceback
        self.frames = frames
        self.interpreter = interpreter

    def __repr__(self):
        return "RunError(%s: %s)" % (self.type, self.message)

    def __str__(self):
        return self.traceback

    def raise_(self):
        """Raises the error here: the builtin exception type of the same name
        when there is one (ExecutionFailed otherwise), its message followed by
        the child's traceback."""
        import builtins
        text = "%s\n\nTraceback in child interpreter %s:\n%s" % (
            self.message, self.interpreter, self.traceback.rstrip("\n"))
        kind = getattr(builtins, self.type, None) if "." not in self.type else None
        exc = None
        if isinstance(kind, type) and issubclass(kind, Exception):
            try:
                exc = kind(text)
            except Exception:
                exc = None
        if exc is None:
            exc = ExecutionFailed("%s: %s" % (self.type, text), self)
        exc.run_error = self
        raise exc


def _outcome(raw, interpreter):
    value, err = raw
    if err is not None:
        return None, RunError(err[0], err[1], err[2], err[3], interpreter)
    return value, None


class RunFuture:
    """A run started by Interpreter.run_async()."""

    __slots__ = ("_future", "_interpreter")

    def __init__(self, future, interpreter):
        self._future = future
        self._interpreter = interpreter

    def result(self, timeout=None):
        """Waits for the run: (result, err). TimeoutError after `timeout`
        seconds (the run goes on). An interrupt of the caller interrupts
        the run."""
        return _outcome(self._future.result(timeout), self._interpreter)

    def done(self):
        """Whether the run has finished."""
        return self._future.done()

    def __repr__(self):
        return "<RunFuture on %s%s>" % (self._interpreter, " (done)" if self.done() else "")


class Interpreter:
    """An interpreter: a child of this session (interpreters.create()), or
    this interpreter itself (interpreters.get_current())."""

    __slots__ = ("_number", "id")

    def __init__(self, number, id):
        self._number = number
        self.id = id

    def __repr__(self):
        return "Interpreter(%r)" % (self.id,)

    def __eq__(self, other):
        return isinstance(other, Interpreter) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def _child(self):
        if self._number is None:
            raise RuntimeError("this is the current interpreter, not one of its children")
        return self._number

    def run_async(self, code, channels=None):
        """Starts `code` in the child and returns a RunFuture."""
        return RunFuture(_xi._interp_run(self._child(), code, channels), self.id)

    def run(self, code, channels=None):
        """Runs `code` in the child like a cell and waits: (result, err)."""
        return self.run_async(code, channels).result()

    def reset(self):
        """Gives the child a fresh __main__ (its imports stay)."""
        _xi._interp_reset(self._child())

    def close(self):
        """Ends the child interpreter."""
        _xi._interp_close(self._child())

    def is_running(self):
        """Whether the child is running code now."""
        number = self._child()
        return any(n == number and busy for n, _id, busy in _xi._interp_list())


def _create(prelude=None):
    """create(prelude=None) -> Interpreter: a new own-GIL child interpreter
    of this session (warm from the pool when one is ready); `prelude` runs
    in its __main__ first."""
    number = _xi._interp_create(prelude)
    for n, id, _busy in _xi._interp_list():
        if n == number:
            return Interpreter(n, id)
    return Interpreter(number, "?/%d" % number)


def _get_current():
    """get_current() -> Interpreter: the interpreter this code runs in."""
    id, _parent, _number = _xi._interp_current()
    return Interpreter(None, id)


def _list_all():
    """list_all() -> [Interpreter]: this interpreter and its children."""
    return [_get_current()] + [Interpreter(n, id) for n, id, _busy in _xi._interp_list()]


def _make_interpreters_module():
    module = type(_sys)("subcell.interpreters", """Child interpreters of a session.

create(prelude=None) -> Interpreter, get_current() -> Interpreter,
list_all() -> [Interpreter]; Interpreter.run(code, channels=None) ->
(result, err), run_async(...) -> RunFuture, reset(), close(). See
help(subcell).""")
    module.create = _create
    module.get_current = _get_current
    module.list_all = _list_all
    module.Interpreter = Interpreter
    module.RunError = RunError
    module.RunFuture = RunFuture
    module.ExecutionFailed = ExecutionFailed
    _sys.modules["subcell.interpreters"] = module
    return module


interpreters = _make_interpreters_module()

_FROM_BUILTINS = ("display", "update_display", "clear_output")


def __getattr__(name):
    # subcell.display & co.: the session's builtins of the same name.
    if name in _FROM_BUILTINS:
        import builtins
        if hasattr(builtins, name):
            return getattr(builtins, name)
    raise AttributeError("module 'subcell' has no attribute %r" % (name,))
