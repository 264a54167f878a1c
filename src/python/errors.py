# ---------------------------------------------------------------- errors
# A cell's exception as plain data (part of subcell's runner; see
# runner.py), formatted inside the interpreter that raised it: only
# strings, numbers and tuples of them leave. The whole chain is described
# (causes, contexts, notes, ExceptionGroup members), so that an editor can
# show every link without parsing the traceback text.
#
# The error tuple: (type, message, traceback text, frames, location, notes,
# members, chain); a frame is (file, line, function, source); location is
# (file, line, column, end line, end column) or None; a link of `chain` or
# `members` is (relation, type, message, frames, notes, members), relation
# being "cause", "context" or None.


def _error(exc, filename):
    """The error tuple for exc."""
    try:
        return _describe(exc, filename)
    except BaseException as inner:  # formatting itself failed: say so plainly
        name = _safe(lambda: _type(exc).__qualname__, "BaseException")
        text = "%s: %s\n(subcell could not format the traceback: %s)\n" % (
            name, _safe(lambda: _str(exc), "?"), _safe(lambda: _repr(inner), "?"))
        return (name, _safe(lambda: _str(exc), ""), text, [], None, None, None, None)


def _safe(fn, default):
    try:
        return fn()
    except BaseException:
        return default


def _qualified_name(cls):
    module = _getattr(cls, "__module__", None)
    qualname = _getattr(cls, "__qualname__", cls.__name__)
    return qualname if module in (None, "builtins") else "%s.%s" % (module, qualname)


# A RecursionError can carry a million frames: formatting them all takes
# minutes and megabytes. Beyond this many, only the innermost are kept.
_MAX_FRAMES = 200
# An ExceptionGroup's members and a chain are cut at this many links.
_MAX_LINKS = 50


def _innermost(tb):
    """(the traceback from its _MAX_FRAMES-th last entry on, its depth)."""
    depth = 0
    walk = tb
    while walk is not None:
        depth += 1
        walk = walk.tb_next
    for _ in range(depth - _MAX_FRAMES):
        tb = tb.tb_next
    return tb, depth


def _describe(exc, filename):
    _install_sources_in_linecache()
    import traceback
    tb, depth = _innermost(exc.__traceback__)
    te = traceback.TracebackException(_type(exc), exc, tb, compact=True, limit=_MAX_FRAMES)
    _strip_runner_frames(te, set())
    text = "".join(te.format())
    if depth > _MAX_FRAMES:
        text = "(subcell: the traceback has %d frames; the innermost %d are shown)\n%s" % (
            depth, _MAX_FRAMES, text)
    frames = _frames(te)
    location = None
    is_syntax = _isinstance(exc, SyntaxError)
    if is_syntax:
        message = _str(exc.msg) if exc.msg is not None else _str(exc)
        if exc.filename == filename and exc.lineno:
            location = (exc.filename, exc.lineno, exc.offset, exc.end_lineno, exc.end_offset)
    else:
        message = _message(exc)
    if location is None:
        for f in reversed(frames):
            if f[0].startswith("<cell ") and f[1]:
                location = (f[0], f[1], None, None, None)
                break
    return (_qualified_name(_type(exc)), message, text, frames, location, _notes(exc),
            _members(exc, te, set()), _chain(exc, te))


def _frames(te):
    return [(f.filename, f.lineno, f.name, (f.line or "").strip()) for f in te.stack]


def _message(exc):
    return _safe(lambda: _str(exc), "<str() of the exception failed>")


def _notes(exc):
    notes = _getattr(exc, "__notes__", None)
    if not _isinstance(notes, (list, tuple)) or not notes:
        return None
    return [note if _isinstance(note, str) else _safe(lambda: _repr(note), "?") for note in notes]


def _link(relation, exc, te, seen):
    return (relation, _qualified_name(_type(exc)), _message(exc), _frames(te), _notes(exc),
            _members(exc, te, seen))


def _members(exc, te, seen):
    """An ExceptionGroup's members, as links (nested groups keep theirs)."""
    members = _getattr(exc, "exceptions", None)
    member_tes = _getattr(te, "exceptions", None)
    if not _isinstance(exc, BaseExceptionGroup) or not members or not member_tes:
        return None
    seen.add(id(exc))
    out = []
    for member, member_te in zip(members[:_MAX_LINKS], member_tes):
        if id(member) not in seen:
            out.append(_link(None, member, member_te, seen))
    return out


def _chain(exc, te):
    """The links chained to exc, in the order Python prints them: the
    first cause first, each saying how it leads to the next."""
    links = []
    seen = {id(exc)}
    while len(links) < _MAX_LINKS:
        if exc.__cause__ is not None and te.__cause__ is not None:
            relation, exc, te = "cause", exc.__cause__, te.__cause__
        elif (exc.__context__ is not None and not exc.__suppress_context__
              and te.__context__ is not None):
            relation, exc, te = "context", exc.__context__, te.__context__
        else:
            break
        if id(exc) in seen:
            break
        seen.add(id(exc))
        links.append(_link(relation, exc, te, set(seen)))
    links.reverse()
    return links or None


def _strip_runner_frames(te, seen):
    # Frames of this file are subcell's machinery, not the user's code.
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    te.stack[:] = [f for f in te.stack if f.filename != _RUNNER_FILE]
    _strip_runner_frames(te.__cause__, seen)
    _strip_runner_frames(te.__context__, seen)
    for sub in _getattr(te, "exceptions", None) or ():
        _strip_runner_frames(sub, seen)


