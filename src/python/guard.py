# ---------------------------------------------------------------- guard
# The session guard (part of subcell's runner; see runner.py): an accident
# barrier for interpreter sessions, which share the server's process. It
# refuses, with a PermissionError naming the rule, what a notebook can do
# to that process by mistake: reach into other interpreters through
# CPython's private modules, signal the server, arm process-wide timers,
# lower its resource limits, close, duplicate over, read or write the
# descriptors the server owns, or replace the process with exec; and it
# turns os._exit() and os.abort() into the end of the session rather than
# of the server.
#
# It is not a security boundary: code that means harm has ctypes, and a
# subinterpreter shares one address space. Process isolation is the
# boundary (protocol/README.md, "The guard"). It is installed in
# subinterpreter sessions unless disabled (session/open "guard": false,
# `subcell serve --no-guard`); a process session owns its process and has
# none of it.

_PRIVATE_INTERPRETER_MODULES = frozenset((
    "_interpreters", "_xxsubinterpreters", "_interpqueues", "_xxinterpqueues",
    "_interpchannels", "_xxinterpchannels"))
# Descriptor-taking os functions, by the positions of their descriptors.
_FD_FUNCTIONS = {
    "read": (0,), "readv": (0,), "pread": (0,), "preadv": (0,),
    "write": (0,), "writev": (0,), "pwrite": (0,), "pwritev": (0,),
    "sendfile": (0, 1), "splice": (0, 1), "copy_file_range": (0, 1),
    "lseek": (0,), "ftruncate": (0,), "fsync": (0,), "fdatasync": (0,),
    "set_blocking": (0,), "set_inheritable": (0,), "fchmod": (0,), "fchown": (0,),
    "fchdir": (0,), "lockf": (0,), "posix_fallocate": (0,), "posix_fadvise": (0,),
    "dup": (0,),
}
_GUARDED_EVENTS = frozenset((
    "import", "open", "os.kill", "os.killpg", "signal.pthread_kill", "resource.setrlimit",
    "resource.prlimit", "fcntl.fcntl", "fcntl.ioctl", "fcntl.flock", "fcntl.lockf", "os.exec"))


class _Guard:
    def __init__(self):
        import os
        import _subcell
        self.pid = os.getpid()
        self.pgrp = os.getpgrp()
        self.protected = _subcell.is_protected_fd
        self.protected_list = _subcell.protected_fds
        self.end_session = _subcell.end_session
        self.proc_fd_prefixes = ("/proc/self/fd/", "/proc/thread-self/fd/", "/dev/fd/",
                                 "/proc/%d/fd/" % self.pid)

    @staticmethod
    def message(rule, what):
        return ("subcell guard: %s (%s). The guard keeps an interpreter session from breaking the "
                "server it shares; a process session (isolation \"process\") may do this." % (rule, what))

    @classmethod
    def refuse(cls, rule, what):
        raise PermissionError(cls.message(rule, what))

    # -- descriptors

    def server_fd(self, fd):
        return _isinstance(fd, int) and self.protected(fd)

    def check_fd(self, fd, what):
        if self.server_fd(fd):
            self.refuse("descriptor %d belongs to the server" % fd, what)

    def check_replaceable(self, fd, what):
        # 0-2 too: closing them would let the server's next descriptor take
        # their number, and C-level writes to stdout would land in it.
        if _isinstance(fd, int) and (0 <= fd <= 2 or self.protected(fd)):
            self.refuse("descriptor %d belongs to the server" % fd, what)

    def check_path(self, path, what):
        if _isinstance(path, int):
            return self.check_fd(path, what)
        if _isinstance(path, bytes):
            import os
            path = os.fsdecode(path)
        if not _isinstance(path, str):
            return
        for prefix in self.proc_fd_prefixes:
            if path.startswith(prefix):
                rest = path[_len(prefix):].rstrip("/")
                if rest.isdigit():
                    self.check_fd(int(rest), what)

    # -- the audit hook

    def hook(self, event, args):
        if event not in _GUARDED_EVENTS:
            return
        if event == "import":
            if args[0] in _PRIVATE_INTERPRETER_MODULES:
                # As if the module were missing, so that code using it when
                # present (`except ModuleNotFoundError`) goes on without it.
                raise ModuleNotFoundError(self.message(
                    "CPython's private interpreter modules reach into other sessions",
                    "import %s; use the subcell module's channels instead" % args[0]), name=args[0])
        elif event == "open":
            self.check_path(args[0], "open(%r)" % (args[0],))
        elif event == "os.kill":
            self.check_signal_target(args[0], args[1], "os.kill(%r, %r)" % (args[0], args[1]))
        elif event == "os.killpg":
            if args[0] in (0, self.pgrp) and args[1] != 0:
                self.refuse("signals to the server's process group end every session",
                            "os.killpg(%r, %r)" % (args[0], args[1]))
        elif event == "signal.pthread_kill":
            if args[1] != 0:
                self.refuse("signals to the server's threads", "signal.pthread_kill(..., %r)" % (args[1],))
        elif event == "resource.setrlimit":
            self.check_rlimit(args[0], args[1], "resource.setrlimit")
        elif event == "resource.prlimit":
            if args[0] in (0, self.pid) and _len(args) > 2 and args[2] is not None:
                self.check_rlimit(args[1], args[2], "resource.prlimit")
        elif event.startswith("fcntl."):
            fd = args[0]
            if not _isinstance(fd, int) and hasattr(fd, "fileno"):
                fd = fd.fileno()
            self.check_fd(fd, event)
        elif event == "os.exec":
            self.refuse("exec would replace the server process", "os.exec*(%r)" % (args[0],))

    def check_signal_target(self, pid, sig, what):
        if sig == 0:
            return
        if pid in (self.pid, 0, -1, -self.pgrp):
            self.refuse("signals to the server's own process end every session", what)

    def check_rlimit(self, which, limits, what):
        import resource
        try:
            soft, hard = limits
            old_soft, old_hard = resource.getrlimit(which)
        except (TypeError, ValueError, OSError):
            return  # malformed: the real call reports it
        infinity = resource.RLIM_INFINITY

        def lower(new, old):
            return old == infinity and new != infinity or (new != infinity and old != infinity and new < old)

        if lower(soft, old_soft) or lower(hard, old_hard):
            self.refuse("resource limits are the whole server's; lowering them limits every session", what)

    # -- wrappers of functions that have no audit event

    def wrap_fd_functions(self, module):
        for name, positions in _FD_FUNCTIONS.items():
            real = _getattr(module, name, None)
            if real is not None:
                setattr(module, name, self.fd_checked(real, name, positions))
        guard = self

        real_close = module.close

        def close(fd):
            guard.check_replaceable(fd, "os.close(%r)" % (fd,))
            return real_close(fd)

        real_closerange = module.closerange

        def closerange(fd_low, fd_high):
            # Every descriptor in the range but the server's (and 0-2).
            low = fd_low
            for fd in sorted(set((0, 1, 2)).union(guard.protected_list())):
                if fd_low <= fd < fd_high:
                    if low < fd:
                        real_closerange(low, fd)
                    low = fd + 1
            if low < fd_high:
                real_closerange(low, fd_high)

        real_dup2 = module.dup2

        def dup2(fd, fd2, inheritable=True):
            guard.check_fd(fd, "os.dup2(%r, %r)" % (fd, fd2))
            guard.check_replaceable(fd2, "os.dup2(%r, %r)" % (fd, fd2))
            return real_dup2(fd, fd2, inheritable)

        for wrapper, real in ((close, real_close), (closerange, real_closerange), (dup2, real_dup2)):
            wrapper.__doc__ = real.__doc__
            setattr(module, real.__name__, wrapper)

    def fd_checked(self, real, name, positions):
        guard = self

        def checked(*args, **kwargs):
            for i in positions:
                if i < _len(args):
                    guard.check_fd(args[i], "os.%s(%r, ...)" % (name, args[i]))
            return real(*args, **kwargs)

        checked.__name__ = name
        checked.__doc__ = real.__doc__
        return checked

    def wrap_exits(self, module):
        guard = self

        def _exit(status):
            """Ends this session (not the server), as os._exit would end a process."""
            guard.end_session("exit", status)
            raise SystemExit(status)

        def abort():
            """Ends this session (not the server), as os.abort would end a process."""
            guard.end_session("abort", 6)
            raise SystemExit(134)

        module._exit = _exit
        module.abort = abort

    def wrap_signal(self, module):
        guard = self

        def refusing(name, rule):
            real = _getattr(module, name, None)
            if real is None:
                return

            def refused(*args, **kwargs):
                guard.refuse(rule, "signal.%s" % name)

            refused.__name__ = name
            refused.__doc__ = real.__doc__
            setattr(module, name, refused)

        timers = "process-wide timers deliver their signal to the whole server"
        refusing("alarm", timers)
        refusing("setitimer", timers)
        refusing("siginterrupt", "signal handling is the whole server's")
        real_raise = _getattr(module, "raise_signal", None)
        if real_raise is not None:
            def raise_signal(signalnum):
                if signalnum != 0:
                    guard.refuse("signals to the server's own process end every session",
                                 "signal.raise_signal(%r)" % (signalnum,))
                return real_raise(signalnum)

            raise_signal.__doc__ = real_raise.__doc__
            module.raise_signal = raise_signal

    def wrap_socket(self, socket):
        guard = self
        real_init = socket.socket.__init__

        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            if fileno is not None:
                guard.check_fd(fileno if _isinstance(fileno, int) else -1, "socket.socket(fileno=%r)" % (fileno,))
            real_init(self, family, type, proto, fileno)

        socket.socket.__init__ = __init__


def install_guard():
    import os
    import posix
    guard = _Guard()
    sys.addaudithook(guard.hook)
    for module in (os, posix):
        guard.wrap_fd_functions(module)
        guard.wrap_exits(module)
    for name in ("signal", "_signal"):
        patch_on_import(name, guard.wrap_signal)
    patch_on_import("socket", guard.wrap_socket)
