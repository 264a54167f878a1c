# ---------------------------------------------------------------- environment
# A session's own environment variables (part of subcell's runner; see
# runner.py). POSIX gives a process one environment, shared by every
# subinterpreter: an `os.environ["X"] = ...` in one notebook would reach the
# subprocesses of every other. In a subinterpreter session, os.environ is
# the session's alone: setting, deleting and os.putenv/os.unsetenv change
# it and not the process's, and whatever the session starts without an
# explicit env (subprocess, os.popen, os.system) gets it. The timezone is
# the exception POSIX leaves no way around: time.tzset() applies the
# session's TZ to the whole process (documented as shared).
#
# A main-interpreter session (a process worker) owns its process: its
# os.environ is the real one and none of this is installed.


def isolate_environment():
    import os
    environ = os.environ

    def putenv(key, value):
        environ._data[environ.encodekey(_as_str(key))] = environ.encodevalue(_as_str(value))

    def unsetenv(key):
        environ._data.pop(environ.encodekey(_as_str(key)), None)

    putenv.__doc__ = "Sets a variable of this session's environment (not the process's)."
    unsetenv.__doc__ = "Removes a variable from this session's environment (not the process's)."
    os.putenv = putenv
    os.unsetenv = unsetenv

    class SessionEnviron(_type(environ)):
        # os._Environ deletes by calling unsetenv and then removing the key
        # from _data itself, which the session's unsetenv has just done.
        def __delitem__(self, key):
            encoded = self.encodekey(key)
            if encoded not in self._data:
                raise KeyError(key)
            unsetenv(encoded)

    SessionEnviron.__module__, SessionEnviron.__name__, SessionEnviron.__qualname__ = "os", "_Environ", "_Environ"
    environ.__class__ = SessionEnviron

    real_system = os.system

    def system(command):
        """Runs the command in a subshell with this session's environment,
        working directory and interrupt; returns its wait status."""
        if not _isinstance(command, (str, bytes)):
            return real_system(command)  # let it raise its own TypeError
        pid = os.posix_spawn("/bin/sh", ["sh", "-c", command], dict(environ))
        return os.waitpid(pid, 0)[1]

    os.system = system
    patch_on_import("subprocess", _give_subprocesses_the_session_environment)
    patch_on_import("time", _apply_timezone_on_tzset)
    if "time" in sys.modules:
        _apply_timezone_on_tzset(sys.modules["time"])


def _as_str(value):
    import os
    return os.fsdecode(value) if _isinstance(value, (bytes, bytearray)) else value


def _give_subprocesses_the_session_environment(subprocess):
    import os
    execute_child = subprocess.Popen._execute_child
    position = execute_child.__code__.co_varnames.index("env") - 1  # without self

    def execute_child_with_session_environment(self, *args, **kwargs):
        if len(args) > position and args[position] is None:
            args = args[:position] + (os.environ,) + args[position + 1:]
        elif kwargs.get("env", False) is None:
            kwargs["env"] = os.environ
        return execute_child(self, *args, **kwargs)

    subprocess.Popen._execute_child = execute_child_with_session_environment


def _apply_timezone_on_tzset(time):
    import os
    real_tzset = getattr(time, "tzset", None)
    if real_tzset is None or _getattr(real_tzset, "_subcell", False):
        return
    import _subcell

    def tzset():
        """Applies this session's TZ to the process (the timezone is
        process-wide: other sessions see it too)."""
        _subcell.set_process_timezone(os.environ.get("TZ"))
        real_tzset()

    tzset._subcell = True
    tzset.__doc__ = real_tzset.__doc__
    time.tzset = tzset


def use_environment(prefix, executable, system_site_packages):
    """This session runs another environment of the same Python (a venv, a
    conda env): its sys.prefix, sys.executable and site-packages, whose
    .pth files are processed as `site` would (path entries, import lines)."""
    import os
    import site
    if not system_site_packages:
        base_sites = set(site.getsitepackages([sys.base_prefix]))
        user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
        sys.path[:] = [p for p in sys.path if p not in base_sites and p != user_site]
    sys.prefix = sys.exec_prefix = prefix
    sys.executable = executable
    for sitedir in site.getsitepackages([prefix]):
        if os.path.isdir(sitedir):
            site.addsitedir(sitedir)


def update_environment(changes):
    """Sets (value) or removes (None) variables of the session's os.environ."""
    import os
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
