# subcell's cell runner. Runs inside every session's interpreter; the C++
# side (python/runner.cpp) compiles it once per interpreter under the
# filename "<subcell>" and keeps the returned functions. It is not placed in
# sys.modules, and it binds the builtins it needs at load time, so a cell
# that rebinds `compile`, `repr` or `sys.modules` cannot break the next run.
#
# Contract with C++: only str, int, float, bool, None, tuples, lists and
# dicts of those leave these functions; never an exception object, frame or
# traceback. Every function catches BaseException itself.

import sys
import _subcell

_RUNNER_FILE = "<subcell>"
_KEEP = frozenset(
    ("__name__", "__builtins__", "__doc__", "__spec__", "__loader__", "__package__"))
_ONLY_AST = 0x400            # ast.PyCF_ONLY_AST
_TOP_LEVEL_AWAIT = 0x2000    # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = 0x80         # inspect.CO_COROUTINE

_main = sys.modules["__main__"]
_ns = _main.__dict__
_compile, _exec, _eval, _repr, _str, _type = compile, exec, eval, repr, str, type
_isinstance, _getattr, _len = isinstance, getattr, len
_PLAIN = frozenset((int, float, complex, str, bytes, bool, list, tuple, dict, set,
                    frozenset, range, type(None), type))

# Cell sources, for linecache: (size, mtime=None, lines, name) entries are
# never invalidated by linecache.checkcache(). Only cells that define code
# which can run later (functions, classes, lambdas, generators) keep theirs;
# the others are dropped when they finish, so memory does not grow with the
# number of cells run.
_sources = {}
_CodeType = type(_compile("", "<subcell>", "exec"))


def _register_source(filename, source):
    lines = source.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    entry = (_len(source), None, lines, filename)
    _sources[filename] = entry
    linecache = sys.modules.get("linecache")
    if linecache is not None:
        linecache.cache[filename] = entry


def _forget_source(filename):
    _sources.pop(filename, None)
    linecache = sys.modules.get("linecache")
    if linecache is not None:
        linecache.cache.pop(filename, None)


def _defines_code(codes):
    for code in codes:
        if code is not None:
            for const in code.co_consts:
                if _type(const) is _CodeType:
                    return True
    return False


def _install_sources_in_linecache():
    # linecache is imported lazily (it pulls in tokenize and re); whenever
    # it is there, make sure it knows every cell.
    import linecache
    for name, entry in _sources.items():
        linecache.cache.setdefault(name, entry)
    return linecache


# ---------------------------------------------------------------- running

def run(source, count):
    """Runs one cell: (bundle or None, error tuple or None, keeps_source,
    refused). `refused` names modules that failed to load because this is
    a subinterpreter (placement.py)."""
    filename = "<cell %d>" % count
    _register_source(filename, source)
    codes = []
    value, error, exc = _run_cell(source, filename, codes)
    try:
        flush_figures()  # figures the cell made, shown before its value
    except BaseException as e:
        sys.stderr.write("subcell: could not show the cell's figures: %r\n" % (e,))
    refused = ()
    if exc is not None:
        location = error[4] if error[4] is not None and error[4][0] == filename else None
        refused = refused_modules(exc, source, location)
        exc = None
    keeps_source = _defines_code(codes)
    if not keeps_source:
        _forget_source(filename)
    return value, error, keeps_source, refused


def _compile_cell(source, filename):
    """(head, tail): the statements to exec, and the final expression to eval."""
    if "\n" not in source.strip():
        # One line: most likely an expression (`df.head()`, `1+1`), which
        # compiles directly; a statement falls through to the AST below.
        try:
            return None, _compile(source, filename, "eval", _TOP_LEVEL_AWAIT)
        except SyntaxError:
            pass
    import _ast  # builds ~120 node types: paid once, and only when needed
    tree = _compile(source, filename, "exec", _ONLY_AST | _TOP_LEVEL_AWAIT)
    body = tree.body
    tail = None
    if body and _type(body[-1]) is _ast.Expr:
        tail = _compile(_ast.Expression(body.pop().value), filename, "eval", _TOP_LEVEL_AWAIT)
    head = _compile(tree, filename, "exec", _TOP_LEVEL_AWAIT) if body or tail is None else None
    return head, tail


def _run_cell(source, filename, codes):
    """(bundle, error tuple, exception): the exception goes no further than run()."""
    try:
        head, tail = _compile_cell(source, filename)
        codes += (head, tail)
    except BaseException as e:
        return None, _error(e, filename), e
    try:
        if head is not None:
            _run_code(head)
        value = _run_code(tail) if tail is not None else None
    except BaseException as e:
        return None, _error(e, filename), e
    if value is None:
        return None, None, None
    _ns["_"] = value
    try:
        return bundle(value), None, None
    except BaseException as e:
        return None, _error(e, filename), e


def _run_code(code):
    if code.co_flags & _CO_COROUTINE:
        # The cell used top-level `await`: run it to completion.
        import asyncio
        return asyncio.run(_eval(code, _ns))
    return _eval(code, _ns)


def finalize():
    """Before the interpreter ends: what it would run then (atexit
    callbacks, finalizers of the user's objects), here, where an interrupt
    (the close deadline) can stop each step."""
    for step in (_run_atexit, reset, _collect):
        try:
            step()
        except BaseException:  # an interrupted step; the next ones still run
            pass


def _run_atexit():
    import atexit
    atexit._run_exitfuncs()  # and forgets them: Py_EndInterpreter will not run them again


def _collect():
    import gc
    gc.collect()


def reset():
    """Empties __main__ in place; returns how many user names were removed."""
    kept = {k: _ns[k] for k in _KEEP if k in _ns}
    removed = _len(_ns) - _len(kept) - ("__annotations__" in _ns)
    _ns.clear()
    _ns.update(kept)
    _ns["__annotations__"] = {}  # as in a fresh __main__
    return removed


# ---------------------------------------------------------------- values

_REPR_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("text/latex", "_repr_latex_"),
    ("image/svg+xml", "_repr_svg_"),
    ("application/javascript", "_repr_javascript_"),
    ("application/json", "_repr_json_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
)
_BINARY = frozenset(("image/png", "image/jpeg"))


def bundle(obj):
    """The MIME bundle of obj: {mime: str}. application/json is JSON text."""
    if _is_figure(obj):
        return figure_bundle(obj)
    data = {"text/plain": _repr(obj)}
    if _type(obj) in _PLAIN or _isinstance(obj, type):
        return data
    method = _getattr(obj, "_repr_mimebundle_", None)
    if callable(method):
        try:
            extra = method(include=None, exclude=None)
            if _isinstance(extra, tuple):
                extra = extra[0]
            if _isinstance(extra, dict):
                for mime, value in extra.items():
                    _add(data, mime, value)
        except Exception:
            pass
    for mime, name in _REPR_METHODS:
        if mime in data:
            continue
        method = _getattr(obj, name, None)
        if not callable(method):
            continue
        try:
            value = method()
        except Exception:
            continue  # a broken _repr_x_ must not hide the text/plain value
        if _isinstance(value, tuple):
            value = value[0]  # (data, metadata)
        _add(data, mime, value)
    return data


def _add(data, mime, value):
    if value is None or not _isinstance(mime, str):
        return
    if mime == "application/json" or mime.endswith("+json"):
        import json
        try:
            data[mime] = json.dumps(value)
        except (TypeError, ValueError):
            pass
    elif mime in _BINARY and _isinstance(value, (bytes, bytearray)):
        import base64
        data[mime] = base64.b64encode(value).decode("ascii")
    elif _isinstance(value, str):
        data[mime] = value


# ---------------------------------------------------------------- completion

def complete(code, cursor):
    """(matches, start, end) for the dotted name that ends at cursor."""
    try:
        return _complete(code, cursor)
    except BaseException:
        return ([], cursor, cursor)


def _complete(code, cursor):
    import keyword
    import builtins
    start = cursor
    while start > 0 and (code[start - 1].isalnum() or code[start - 1] in "_."):
        start -= 1
    token = code[start:cursor]
    if token[:1].isdigit():
        return ([], cursor, cursor)
    if "." in token:
        head, _, prefix = token.rpartition(".")
        obj = _resolve(head, builtins)
        if obj is _MISSING:
            return ([], start, cursor)
        names = set(dir(obj))
        if not prefix.startswith("_"):
            names = {n for n in names if not n.startswith("_")}
        matches = sorted(head + "." + n for n in names if n.startswith(prefix))
    else:
        names = set(_ns) | set(dir(builtins)) | set(keyword.kwlist)
        if not token.startswith("_"):
            names = {n for n in names if not n.startswith("_")}
        matches = sorted(n for n in names if n.startswith(token))
    return (matches[:500], start, cursor)


_MISSING = object()


def _resolve(dotted, builtins):
    # Attribute lookups only: completion never calls user code it can avoid.
    parts = dotted.split(".")
    if not all(p.isidentifier() for p in parts):
        return _MISSING
    if parts[0] in _ns:
        obj = _ns[parts[0]]
    else:
        obj = _getattr(builtins, parts[0], _MISSING)
    for part in parts[1:]:
        if obj is _MISSING:
            break
        obj = _getattr(obj, part, _MISSING)
    return obj


# ---------------------------------------------------------------- set-up

class _BlockedModules:
    """A meta-path finder that refuses modules unsafe in this interpreter."""

    def __init__(self, reasons):
        self._reasons = reasons

    def find_spec(self, name, path=None, target=None):
        reason = self._reasons.get(name)
        if reason is None:
            return None
        raise ImportError(
            "module %s is not available in subcell sessions: %s" % (name, reason), name=name)


def setup_site(path, pth_imports):
    """What `site` would have done: sessions start without it (faster)."""
    import _sitebuiltins
    import builtins
    sys.path[:] = path
    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.help = _sitebuiltins._Helper()
    builtins.copyright = _sitebuiltins._Printer("copyright", sys.copyright)
    builtins.credits = _sitebuiltins._Printer(
        "credits", "Thanks to CWI, CNRI, BeOpen, Zope Corporation, the Python Software\n"
                   "Foundation, and a cast of thousands for supporting Python development.")
    builtins.license = _sitebuiltins._Printer(
        "license", "See https://www.python.org/psf/license/")
    failures = []
    for line in pth_imports:  # .pth import lines: editable installs, import hooks
        try:
            _exec(line, {"__builtins__": builtins, "sys": sys})
        except Exception as e:
            failures.append("%s: %r" % (line, e))
    return failures


def block_modules(reasons):
    if reasons:
        sys.meta_path.insert(0, _BlockedModules(reasons))


class _PatchOnImport:
    """Patches modules when they are first imported.

    Sessions that never import a module do not pay for importing it just to
    patch it. Patches are functions of the module object; a module already
    imported is patched at once.
    """

    def __init__(self):
        self.patches = {}

    def find_spec(self, name, path=None, target=None):
        patches = self.patches.pop(name, None)
        if patches is None:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            self.patches[name] = patches  # not found here: leave it to the import
            return None
        exec_module = spec.loader.exec_module

        def exec_then_patch(module):
            exec_module(module)
            for patch in patches:
                patch(module)

        spec.loader.exec_module = exec_then_patch
        return spec


_patcher = _PatchOnImport()


def patch_on_import(name, patch):
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
        return
    _patcher.patches.setdefault(name, []).append(patch)
    if _patcher not in sys.meta_path:
        sys.meta_path.insert(0, _patcher)


def _slice_join(threading):
    """Makes threading.Thread.join() interruptible.

    From CPython 3.13 a join waits in C with no way for an interrupt to
    reach a subinterpreter (Py_MakePendingCalls serves only the main
    interpreter); joining in short slices returns to bytecode, where the
    interrupt lands.
    """
    thread_class = threading.Thread
    join = thread_class.join

    def interruptible_join(self, timeout=None):
        if timeout is not None:
            return join(self, timeout)
        while True:
            join(self, 0.05)
            if not self.is_alive():
                return

    interruptible_join.__doc__ = join.__doc__
    thread_class.join = interruptible_join


def _remember_starting_cell(threading):
    """Each thread knows the cell that started it: what it prints after
    that cell has finished is late output, shown under that cell."""
    thread_class = threading.Thread
    start = thread_class.start

    def start_from_cell(self):
        origin = _subcell.current_cell()
        run = self.run

        def run_for_cell():
            _subcell.set_thread_origin(origin)
            run()

        self.run = run_for_cell
        start(self)

    start_from_cell.__doc__ = start.__doc__
    thread_class.start = start_from_cell


def patch_threading(slice_joins):
    patch_on_import("threading", _remember_starting_cell)
    if slice_joins:
        patch_on_import("threading", _slice_join)


def warm_up():
    """Pre-pays what the first multi-line cell would (pool interpreters)."""
    import _ast  # noqa: F401


def prelude(source):
    """Runs set-up code (imports) outside __main__; returns an error or None."""
    try:
        _exec(_compile(source, "<prelude>", "exec"), {"__builtins__": _ns["__builtins__"]})
        return None
    except BaseException as e:
        return _error(e, "<prelude>")


# ---------------------------------------------------------------- stdio

import io as _io


class _Stream(_io.TextIOBase):
    """sys.stdout / sys.stderr of a session: writes go to its output channel."""
    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name):
        self._name = name

    @property
    def name(self):
        return self._name

    def writable(self):
        return True

    def isatty(self):
        return False

    def flush(self):
        pass

    def close(self):
        pass  # closing the session's stream would only lose later output


class _Stdout(_Stream):
    write = _subcell.write_stdout


class _Stderr(_Stream):
    write = _subcell.write_stderr


def install_stdio():
    sys.stdout = sys.__stdout__ = _Stdout("<stdout>")
    sys.stderr = sys.__stderr__ = _Stderr("<stderr>")
    sys.stdin = sys.__stdin__ = _Stdin()
