# ---------------------------------------------------------------- figures
# Matplotlib figures as images in the cell's output (part of subcell's
# runner; see runner.py), without IPython. subcell ships a backend
# (module://subcell_matplotlib: Agg drawing, figures shown as image/png
# displays) and selects it when a session imports matplotlib, as Jupyter
# selects its inline backend: over the matplotlibrc defaults (Debian's says
# TkAgg), not over MPLBACKEND; matplotlib.use() still picks another. A
# figure is shown on plt.show() and, like Jupyter's inline backend, when
# the cell that made it ends; display(fig) shows one at any time.

_BACKEND = "module://subcell_matplotlib"

_BACKEND_SOURCE = '''
"""subcell's matplotlib backend: figures are drawn with Agg and shown as
PNG images in the cell's output (plt.show(), and at the end of the cell)."""
from matplotlib.backend_bases import _Backend, FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg


@_Backend.export
class _BackendSubcell(_Backend):
    FigureCanvas = FigureCanvasAgg
    FigureManager = FigureManagerBase

    @staticmethod
    def show(block=None):
        _show_figures()
'''


class _SubcellBackendFinder:
    """Provides the subcell_matplotlib module from the source above."""

    def find_spec(self, name, path=None, target=None):
        if name != "subcell_matplotlib":
            return None
        import importlib.util
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__dict__["_show_figures"] = show_figures
        _exec(_compile(_BACKEND_SOURCE, "<subcell matplotlib backend>", "exec"), module.__dict__)


def _figure_png(figure):
    import base64
    import io
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _is_figure(obj):
    cls = _type(obj)
    return cls.__name__ == "Figure" and _getattr(cls, "__module__", "") == "matplotlib.figure"


def figure_bundle(figure):
    return {"text/plain": _repr(figure), "image/png": _figure_png(figure)}


def show_figures():
    """Shows every open figure of the session (and closes it): plt.show()."""
    pylab_helpers = sys.modules.get("matplotlib._pylab_helpers")
    if pylab_helpers is None:
        return
    managers = pylab_helpers.Gcf.get_all_fig_managers()
    for manager in managers:
        _subcell.emit_display(figure_bundle(manager.canvas.figure), None, False)
    for manager in managers:
        pylab_helpers.Gcf.destroy(manager)


def flush_figures():
    """At the end of a cell: its figures not shown yet are shown."""
    if "matplotlib.pyplot" not in sys.modules:
        return
    import matplotlib
    if matplotlib.get_backend() == _BACKEND:
        show_figures()


def _select_backend(matplotlib):
    import os
    if not os.environ.get("MPLBACKEND"):
        matplotlib.use(_BACKEND)


def install_figures():
    sys.meta_path.append(_SubcellBackendFinder())
    patch_on_import("matplotlib", _select_backend)
