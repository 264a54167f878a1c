#include "python/runtime.h"

#include <Python.h>

#include <atomic>

#include "python/interrupt.h"
#include "python/module_policy.h"
#include "python/site_setup.h"
#include "python/subcell_module.h"
#include "python/xi_module.h"
#include "support/log.h"

#ifndef SUBCELL_PYTHON_EXECUTABLE
#define SUBCELL_PYTHON_EXECUTABLE ""
#endif

namespace subcell::py {
namespace {

std::atomic<bool> g_unclean{false};
PyThreadState* g_main_thread_state = nullptr;

std::string status_message(const PyStatus& status) {
  std::string msg = status.err_msg != nullptr ? status.err_msg : "unknown error";
  if (status.func != nullptr) msg = std::string(status.func) + ": " + msg;
  return msg;
}

}  // namespace

std::string built_with_version() { return PY_VERSION; }

void Runtime::mark_unclean() { g_unclean.store(true); }
bool Runtime::unclean() { return g_unclean.load(); }

void* Runtime::main_thread_state() { return g_main_thread_state; }

Result<std::unique_ptr<Runtime>> Runtime::start(RuntimeOptions options) {
  if (Py_IsInitialized()) return Error{0, "CPython is already initialised in this process"};
  register_subcell_module();
  register_xi_modules();

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  const bool main_session = options.main_interpreter_session;
  // In the server SIGINT belongs to the server, not to Python; in a process
  // worker it is how a cell is interrupted, even inside a blocking call.
  config.install_signal_handlers = main_session ? 1 : 0;
  config.parse_argv = 0;
  // Subinterpreter sessions inherit this: they get site's results replayed
  // instead (python/site_setup.h), which halves their creation time.
  config.site_import = main_session ? 1 : 0;
  // sys.executable is the interpreter subcell was built against, so that
  // `subprocess.run([sys.executable, "-m", "pip", ...])` in a cell works.
  const std::string executable = options.executable.empty() ? SUBCELL_PYTHON_EXECUTABLE : options.executable;
  if (!executable.empty()) {
    // program_name too: getpath finds the prefix (and a venv's pyvenv.cfg) from it.
    PyStatus s = PyConfig_SetBytesString(&config, &config.executable, executable.c_str());
    if (!PyStatus_Exception(s)) s = PyConfig_SetBytesString(&config, &config.program_name, executable.c_str());
    if (PyStatus_Exception(s)) {
      PyConfig_Clear(&config);
      return Error{0, "Python configuration: " + status_message(s)};
    }
  }
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) return Error{0, "cannot initialise Python: " + status_message(status)};

  std::unique_ptr<Runtime> rt(new Runtime);
  const std::string full = Py_GetVersion();  // "3.11.2 (main, ...": the libpython loaded
  rt->info_.version = full.substr(0, full.find(' '));
  rt->info_.minor = PY_MINOR_VERSION;
  rt->info_.own_gil = !main_session;
  for (auto [name, out] : {std::pair{"executable", &rt->info_.executable}, std::pair{"prefix", &rt->info_.prefix}}) {
    PyObject* value = PySys_GetObject(name);  // borrowed
    if (value != nullptr && PyUnicode_Check(value)) *out = PyUnicode_AsUTF8(value);
  }
  PyErr_Clear();

  // Subinterpreters get site's results replayed: sessions, and the child
  // interpreters a process worker's session creates.
  capture_site_setup();
  if (main_session) {
    // A crashing cell leaves its Python traceback on stderr, which the
    // server quotes in session/crashed.
    PyObject* fh = PyImport_ImportModule("faulthandler");
    PyObject* ok = fh != nullptr ? PyObject_CallMethod(fh, "enable", nullptr) : nullptr;
    if (ok == nullptr) PyErr_Clear();
    Py_XDECREF(ok);
    Py_XDECREF(fh);
  }
  for (std::string_view name : module_policy(PY_MINOR_VERSION).preimport_in_main) {
    PyObject* m = PyImport_ImportModule(std::string(name).c_str());
    if (m == nullptr) {
      PyErr_Clear();  // not built on this platform: nothing to protect
      log::debug("pre-import of " + std::string(name) + " failed");
    }
    Py_XDECREF(m);
  }
  install_wakeup_signal();
  g_main_thread_state = PyEval_SaveThread();
  return rt;
}

bool Runtime::finalize() {
  if (finalized_) return true;
  if (unclean() || !module_policy(PY_MINOR_VERSION).finalize_is_safe) return false;
  PyEval_RestoreThread(g_main_thread_state);
  const int rc = Py_FinalizeEx();
  finalized_ = true;
  return rc == 0;
}

Runtime::~Runtime() {
  // Without an explicit finalize() the process is about to _exit(); the
  // main interpreter is left as it is.
}

}  // namespace subcell::py
