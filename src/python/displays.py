# ---------------------------------------------------------------- displays
# display(), update_display() and clear_output() with the semantics of
# IPython.display (part of subcell's runner; see runner.py). A display
# shown with a display_id can be replaced later; clear_output(wait=True)
# clears the cell's outputs when the next one arrives, so that a progress
# bar redrawn in a loop stays one line. They are builtins in every session,
# unless IPython is importable there: then IPython.display's own functions
# are made to send through subcell, so that notebook code importing them
# works unchanged.


def _new_display_id():
    import uuid
    return uuid.uuid4().hex


class DisplayHandle:
    """A display that can be updated: what display(..., display_id=True) returns."""

    def __init__(self, display_id=None):
        self.display_id = display_id if display_id is not None else _new_display_id()

    def __repr__(self):
        return "<DisplayHandle display_id=%s>" % self.display_id

    def display(self, obj, **kwargs):
        display(obj, display_id=self.display_id, **kwargs)

    def update(self, obj, **kwargs):
        update_display(obj, display_id=self.display_id, **kwargs)


def display(*objs, display_id=None, raw=False, clear=False, **kwargs):
    """Shows each object in the cell's output, with its richest MIME forms.

    display_id: a string (or True, for a new one) under which the display
    can be replaced later with update_display(); a DisplayHandle is then
    returned. raw: the objects are MIME bundles already. clear: the cell's
    outputs are cleared first (when this display arrives)."""
    if display_id is True:
        display_id = _new_display_id()
    if clear:
        clear_output(wait=True)
    for obj in objs:
        data = obj if raw and _isinstance(obj, dict) else bundle(obj)
        _subcell.emit_display(data, display_id, False)
    if display_id is not None:
        return DisplayHandle(display_id)
    return None


def update_display(obj, *, display_id, raw=False, **kwargs):
    """Replaces what was shown under display_id, wherever it is shown."""
    data = obj if raw and _isinstance(obj, dict) else bundle(obj)
    _subcell.emit_display(data, display_id, True)


def clear_output(wait=False):
    """Clears the cell's outputs; with wait=True, when the next one arrives."""
    _subcell.clear_output(bool(wait))


def install_displays():
    import builtins
    import importlib.util
    try:
        ipython = importlib.util.find_spec("IPython") is not None
    except (ImportError, ValueError):
        ipython = False
    if not ipython:
        builtins.display = display
        builtins.update_display = update_display
        builtins.clear_output = clear_output
    patch_on_import("IPython.core.display_functions", _route_ipython_displays)
    patch_on_import("IPython.display", _route_ipython_displays)


def _route_ipython_displays(module):
    for name, fn in (("display", display), ("update_display", update_display), ("clear_output", clear_output),
                     ("DisplayHandle", DisplayHandle)):
        if hasattr(module, name):
            setattr(module, name, fn)
