# ---------------------------------------------------------------- placement
# Which cells need a process session (part of subcell's runner; see
# runner.py). Extension modules with single-phase init (numpy and most of
# the scientific stack, readline, _testsinglephase) refuse to load in a
# subinterpreter. An `auto` session checks a cell's top-level imports
# against the modules known to need a process before running it, and every
# session reports the modules that refused to load, so that they are known
# the next time.

_REFUSAL = "does not support loading in subinterpreters"


def top_level_imports(source):
    """Root names of the modules a cell imports outside functions and classes."""
    if "import" not in source:
        return []
    import _ast
    try:
        tree = _compile(source, "<placement>", "exec", _ONLY_AST | _TOP_LEVEL_AWAIT)
    except (SyntaxError, ValueError):
        return []
    skip = (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef)
    roots = []
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        kind = _type(node)
        if kind is _ast.Import:
            roots += [alias.name.partition(".")[0] for alias in node.names]
        elif kind is _ast.ImportFrom:
            if not node.level and node.module:
                roots.append(node.module.partition(".")[0])
        elif not _isinstance(node, skip):
            # if/try/with/for/while/match blocks run at the top level too.
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                pending += _getattr(node, field, None) or ()
    return roots


def has_user_state():
    """Whether __main__ holds anything the user made (a move would lose it)."""
    for name in _ns:
        if name != "_" and not (name.startswith("__") and name.endswith("__")):
            return True
    return False


def needs_process(source, modules):
    """(sorted modules, has_user_state) when the cell imports one of
    `modules` at its top level, else None."""
    wanted = sorted(set(m for m in top_level_imports(source) if m in modules))
    if not wanted:
        return None
    return (tuple(wanted), has_user_state())


def refused_modules(exc, source, location):
    """The modules to remember as needing a process, from an ImportError
    that says a module cannot load in a subinterpreter: that module's
    package, and what the cell line that raised imports."""
    if not _isinstance(exc, ImportError) or _REFUSAL not in _str(exc):
        return ()
    learned = []
    name = _getattr(exc, "name", None)
    if _isinstance(name, str) and name:
        learned.append(name.partition(".")[0])
    if location is not None:
        lines = source.splitlines()
        line = location[1]
        if 0 < line <= _len(lines):
            learned += top_level_imports(lines[line - 1].strip())
    return tuple(sorted(set(learned)))
