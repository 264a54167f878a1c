# ---------------------------------------------------------------- blocking calls
# Interruptible waits for subinterpreter sessions (part of subcell's runner;
# see runner.py). Signals never reach a subinterpreter, so a cell blocked in
# select(), a socket, a pipe read or a wait for a child process cannot be
# interrupted while it sits in the system call: the interrupt (a pending
# call) runs only when the thread is back in Python bytecode. These
# wrappers never wait in C for more than _SLICE seconds at a time: they
# wait in slices and come back to bytecode in between, where the interrupt
# lands, so a KeyboardInterrupt arrives within about _SLICE. Results and
# errors are the wrapped functions' own. Waits on locks, Event, Queue and
# Thread.join are handled elsewhere (wake-up signal, sliced join), as is
# time.sleep (_subcell.sleep). A main-interpreter session (a process
# worker) gets none of this: SIGINT interrupts its system calls.

_SLICE = 0.05


def make_blocking_calls_interruptible():
    import os
    patch_on_import("select", _slice_select)
    patch_on_import("selectors", _slice_selectors)
    patch_on_import("socket", _slice_sockets)
    patch_on_import("ssl", _slice_ssl)
    patch_on_import("subprocess", _interrupt_children_like_a_terminal)
    _slice_os(os)


def _slices(timeout):
    """Yields wait lengths of at most _SLICE until `timeout` (None: forever)
    has passed; the last one may be 0."""
    from time import monotonic
    if timeout is None:
        while True:
            yield _SLICE
    if timeout < 0:
        timeout = 0
    deadline = monotonic() + timeout
    while True:
        left = deadline - monotonic()
        if left <= _SLICE:
            yield max(left, 0.0)
            return
        yield _SLICE


def _slice_select(select):
    real_select = select.select

    def interruptible_select(rlist, wlist, xlist, timeout=None):
        result = ([], [], [])
        for wait in _slices(timeout):
            result = real_select(rlist, wlist, xlist, wait)
            if result[0] or result[1] or result[2]:
                break
        return result

    interruptible_select.__doc__ = real_select.__doc__
    select.select = interruptible_select

    if hasattr(select, "poll"):
        real_poll = select.poll

        class poll:
            """select.poll, whose poll() waits in interruptible slices."""

            def __init__(self):
                self._poll = real_poll()

            def register(self, fd, eventmask=None):
                if eventmask is None:
                    return self._poll.register(fd)
                return self._poll.register(fd, eventmask)

            def modify(self, fd, eventmask):
                return self._poll.modify(fd, eventmask)

            def unregister(self, fd):
                return self._poll.unregister(fd)

            def poll(self, timeout=None):
                # milliseconds; None or negative: forever
                seconds = None if timeout is None or timeout < 0 else timeout / 1000.0
                events = []
                for wait in _slices(seconds):
                    events = self._poll.poll(wait * 1000.0)
                    if events:
                        break
                return events

        select.poll = poll

    if hasattr(select, "epoll"):
        real_epoll = select.epoll

        class epoll:
            """select.epoll, whose poll() waits in interruptible slices."""

            def __init__(self, sizehint=-1, flags=0, _wrap=None):
                self._epoll = _wrap if _wrap is not None else real_epoll(sizehint, flags)

            @classmethod
            def fromfd(cls, fd):
                return cls(_wrap=real_epoll.fromfd(fd))

            def poll(self, timeout=None, maxevents=-1):
                seconds = None if timeout is None or timeout < 0 else timeout
                events = []
                for wait in _slices(seconds):
                    events = self._epoll.poll(wait, maxevents)
                    if events:
                        break
                return events

            def register(self, fd, eventmask=None):
                if eventmask is None:
                    return self._epoll.register(fd)
                return self._epoll.register(fd, eventmask)

            def modify(self, fd, eventmask):
                return self._epoll.modify(fd, eventmask)

            def unregister(self, fd):
                return self._epoll.unregister(fd)

            def fileno(self):
                return self._epoll.fileno()

            def close(self):
                return self._epoll.close()

            @property
            def closed(self):
                return self._epoll.closed

            def __enter__(self):
                self._epoll.__enter__()
                return self

            def __exit__(self, *exc):
                return self._epoll.__exit__(*exc)

        select.epoll = epoll


def _slice_selectors(selectors):
    # Classes made before select was patched keep the functions they took.
    import select
    if hasattr(selectors, "SelectSelector"):
        selectors.SelectSelector._select = staticmethod(select.select)
    for name, cls in (("PollSelector", "poll"), ("EpollSelector", "epoll")):
        if hasattr(selectors, name) and hasattr(select, cls):
            _getattr(selectors, name)._selector_cls = _getattr(select, cls)


def _wait_ready(fd, write=False, timeout=None):
    """Waits, interruptibly, until fd is readable (writable); False on timeout."""
    import select
    for _ in _slices(timeout):
        r, w, _x = select.select([] if write else [fd], [fd] if write else [], [], _SLICE)
        if r or w:
            return True
    return False


def _slice_sockets(socket):
    cls = socket.socket

    def waiting_first(name, write=False):
        method = _getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            # Only a blocking socket waits; timeouts and non-blocking
            # sockets keep their own behaviour.
            if self.gettimeout() is None and self.fileno() >= 0:
                _wait_ready(self.fileno(), write)
            return method(self, *args, **kwargs)

        wrapper.__name__ = name
        wrapper.__doc__ = method.__doc__
        setattr(cls, name, wrapper)

    for name in ("accept", "recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg", "recvmsg_into"):
        if hasattr(cls, name):
            waiting_first(name)
    for name in ("send", "sendto", "sendmsg"):
        if hasattr(cls, name):
            waiting_first(name, write=True)

    real_connect = cls.connect

    def connect(self, address):
        if self.gettimeout() is not None:
            return real_connect(self, address)
        import errno
        self.setblocking(False)
        try:
            err = self.connect_ex(address)
            if err in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
                _wait_ready(self.fileno(), write=True)
                err = self.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        finally:
            self.setblocking(True)
        if err and err != errno.EISCONN:
            import os
            raise OSError(err, os.strerror(err))

    connect.__doc__ = real_connect.__doc__
    cls.connect = connect

    real_sendall = cls.sendall

    def sendall(self, data, flags=0):
        if self.gettimeout() is not None:
            return real_sendall(self, data, flags)
        view = memoryview(data).cast("B")
        while view:
            _wait_ready(self.fileno(), write=True)
            self.setblocking(False)
            try:
                sent = self.send(view, flags)
            except BlockingIOError:
                sent = 0
            finally:
                self.setblocking(True)
            view = view[sent:]

    sendall.__doc__ = real_sendall.__doc__
    cls.sendall = sendall


def _slice_ssl(ssl):
    cls = ssl.SSLSocket

    def waiting_first(name):
        method = _getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            if (self.gettimeout() is None and self.fileno() >= 0 and self._sslobj is not None
                    and not self.pending()):
                _wait_ready(self.fileno())
            return method(self, *args, **kwargs)

        wrapper.__name__ = name
        wrapper.__doc__ = method.__doc__
        setattr(cls, name, wrapper)

    for name in ("recv", "recv_into", "read"):
        waiting_first(name)


def _slice_os(os):
    real_read = os.read

    def read(fd, n):
        # A pipe, socket or terminal with nothing to read would block in C.
        if os.get_blocking(fd):
            _wait_ready(fd)
        return real_read(fd, n)

    read.__doc__ = real_read.__doc__
    os.read = read

    real_waitpid = os.waitpid

    def waitpid(pid, options):
        if options & os.WNOHANG:
            return real_waitpid(pid, options)
        import time
        pause = 0.001
        while True:
            result = real_waitpid(pid, options | os.WNOHANG)
            if result != (0, 0):
                return result
            time.sleep(pause)  # the session's interruptible sleep
            pause = min(pause * 2, _SLICE)

    waitpid.__doc__ = real_waitpid.__doc__
    os.waitpid = waitpid

    def wait():
        return waitpid(-1, 0)

    wait.__doc__ = os.wait.__doc__
    os.wait = wait


def _interrupt_children_like_a_terminal(subprocess):
    """A terminal's Ctrl+C reaches the child too: an interrupted wait for a
    child process sends it SIGINT before the KeyboardInterrupt goes on (the
    standard library then gives it a moment to exit; run() kills it)."""
    popen = subprocess.Popen

    def forwarding(name):
        method = _getattr(popen, name)

        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except KeyboardInterrupt:
                if self.returncode is None:
                    import signal
                    try:
                        self.send_signal(signal.SIGINT)
                    except OSError:
                        pass
                raise

        wrapper.__name__ = name
        setattr(popen, name, wrapper)

    forwarding("_wait")
    forwarding("_communicate")

    # communicate() without a timeout and with one pipe reads it through a
    # file object, in C; with a timeout it waits through the selector, in
    # slices. A timeout of 31 years is no timeout.
    real_communicate = popen.communicate

    def communicate(self, input=None, timeout=None):
        return real_communicate(self, input, 1e9 if timeout is None else timeout)

    communicate.__doc__ = real_communicate.__doc__
    popen.communicate = communicate
