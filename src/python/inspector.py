# ---------------------------------------------------------------- inspector
# What session/variables and cell/inspect read from the live namespace
# (part of subcell's runner; see runner.py). These run on a second thread
# of the session's interpreter while a cell may be running, so they read
# and never change: no property, __getattr__ or descriptor of the user's
# objects runs to find a name, and the user's __repr__/__len__ run under a
# time limit (a trace function on this thread stops Python code that runs
# too long; C code is stopped only by its own end).

_REPR_SECONDS = 0.1
_MAX_REPR = 200
_MAX_INSPECT_REPR = 500
_MAX_DOC = 10000


class _TooLong(Exception):
    pass


def _with_deadline(fn, seconds):
    """fn(), stopped with _TooLong once it has run `seconds` (Python code only)."""
    from time import monotonic
    deadline = monotonic() + seconds

    def tracer(frame, event, arg):
        if monotonic() > deadline:
            raise _TooLong()
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return fn()
    finally:
        sys.settrace(previous)


def _clip(text, limit):
    return text if _len(text) <= limit else text[:limit - 3] + "..."


_repr_limited = None


def _short_repr(obj, limit):
    global _repr_limited
    if _repr_limited is None:
        import reprlib
        r = reprlib.Repr()
        r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 2, 10, 10, 10, 10
        r.maxstring, r.maxother, r.maxlong = limit, limit, 60
        _repr_limited = r.repr
    try:
        if _type(obj) in _PLAIN:
            text = _repr_limited(obj)  # builtins: reprlib keeps it short and quick
        else:
            text = _with_deadline(lambda: _repr(obj), _REPR_SECONDS)
    except _TooLong:
        return "<repr took too long>"
    except BaseException as e:
        return "<repr failed: %s>" % _type(e).__name__
    if not _isinstance(text, str):
        return "<repr returned %s>" % _type(text).__name__
    return _clip(text, limit)


def _type_name(obj):
    return _qualified_name(_type(obj))


def _length(obj):
    if _isinstance(obj, (str, bytes, bytearray, list, tuple, dict, set, frozenset, range)):
        return _len(obj)
    if not hasattr(_type(obj), "__len__") or hasattr(obj, "__next__"):
        return None
    try:
        n = _with_deadline(lambda: _len(obj), _REPR_SECONDS)
    except BaseException:
        return None
    return n if _isinstance(n, int) and n >= 0 else None


def _shape(obj):
    if _type(obj) in _PLAIN or not hasattr(_type(obj), "shape"):
        return None
    try:
        shape = _with_deadline(lambda: obj.shape, _REPR_SECONDS)
    except BaseException:
        return None
    if _isinstance(shape, tuple) and all(_isinstance(n, int) for n in shape):
        return list(shape)
    return None


def variables(offset, limit):
    """A page of the user's variables: ([(name, type, repr, length, shape)], total)."""
    module_type = _type(sys)
    names = sorted(name for name, value in list(_ns.items())
                   if not name.startswith("_") and not _isinstance(value, module_type))
    page = []
    for name in names[offset:offset + limit]:
        value = _ns.get(name, _MISSING)
        if value is _MISSING:
            continue  # deleted meanwhile by the running cell
        page.append((name, _type_name(value), _short_repr(value, _MAX_REPR), _length(value), _shape(value)))
    return page, _len(names)


def _name_at(code, cursor):
    """The dotted name under or just before the cursor."""
    end = cursor
    while end < _len(code) and (code[end].isalnum() or code[end] == "_"):
        end += 1
    start = cursor
    while start > 0 and (code[start - 1].isalnum() or code[start - 1] in "_."):
        start -= 1
    return code[start:end].strip(".")


def _lookup_static(dotted):
    import builtins
    import inspect
    parts = dotted.split(".")
    if not parts or not all(p.isidentifier() for p in parts):
        return _MISSING
    obj = _ns.get(parts[0], _MISSING)
    if obj is _MISSING:
        obj = _getattr(builtins, parts[0], _MISSING)
    for part in parts[1:]:
        if obj is _MISSING:
            break
        try:
            obj = inspect.getattr_static(obj, part)
        except AttributeError:
            return _MISSING
        if _isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    return obj


def inspect_name(code, cursor):
    """{found, name, type, signature, docstring, repr} of the name at cursor."""
    name = _name_at(code, cursor)
    obj = _lookup_static(name) if name else _MISSING
    if obj is _MISSING:
        return {"found": False}
    import inspect
    out = {"found": True, "name": name, "type": _type_name(obj)}
    if callable(obj):
        try:
            out["signature"] = _str(_with_deadline(lambda: inspect.signature(obj), _REPR_SECONDS))
        except BaseException:
            pass
    try:
        doc = inspect.getdoc(obj)
    except BaseException:
        doc = None
    if _isinstance(doc, str) and doc:
        out["docstring"] = _clip(doc, _MAX_DOC)
    out["repr"] = _short_repr(obj, _MAX_INSPECT_REPR)
    return out
