#include "python/site_setup.h"

#include <Python.h>

#include "python/convert.h"
#include "python/ref.h"
#include "support/log.h"

namespace subcell::py {
namespace {

SiteSetup g_setup;  // written once at start-up, before any session exists

// Mirrors site.addsitepackages/addpackage: the .pth files of each
// site-packages directory, sorted by name, and their `import` lines.
constexpr const char* kCapture = R"PY(
import os, site, sys
if sys.flags.no_site:  # a process worker's main interpreter ran site for real already
    site.main()

def _pth_imports():
    dirs = []
    try:
        dirs += site.getsitepackages()
    except Exception:
        pass
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    lines = []
    for d in dirs:
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".pth") and not n.startswith("."))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    lines += [l.rstrip() for l in f if l.startswith(("import ", "import\t"))]
            except (OSError, UnicodeDecodeError):
                pass
    return lines

result = (list(sys.path), _pth_imports())
)PY";

std::vector<std::string> strings_of(PyObject* list) {
  std::vector<std::string> out;
  if (list == nullptr || !PyList_Check(list)) return out;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); ++i) out.push_back(to_utf8(PyList_GET_ITEM(list, i)));
  return out;
}

}  // namespace

void capture_site_setup() {
  Ref globals = steal(PyDict_New());
  if (!globals || PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) < 0) {
    PyErr_Clear();
    return;
  }
  Ref ran = steal(PyRun_String(kCapture, Py_file_input, globals.get(), globals.get()));
  PyObject* result = ran ? PyDict_GetItemString(globals.get(), "result") : nullptr;  // borrowed
  if (result == nullptr || !PyTuple_Check(result) || PyTuple_GET_SIZE(result) != 2) {
    log::warn("could not run site in the main interpreter: " +
              (PyErr_Occurred() ? error_from_current_exception("site").message : std::string("no result")));
    PyErr_Clear();
    return;
  }
  g_setup.path = strings_of(PyTuple_GET_ITEM(result, 0));
  g_setup.pth_imports = strings_of(PyTuple_GET_ITEM(result, 1));
}

const SiteSetup& site_setup() { return g_setup; }

}  // namespace subcell::py
