#include "python/python_session.h"

#include <Python.h>
#include <marshal.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "python/convert.h"
#include "python/module_policy.h"
#include "python/process_modules.h"
#include "python/runner_source.h"
#include "python/site_setup.h"
#include "python/subcell_module.h"
#include "python/xi_module.h"
#include "support/log.h"

namespace subcell::py {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Ref text(std::string_view s) { return steal(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace")); }

Ref call(const Ref& fn, std::initializer_list<PyObject*> args) {
  for (PyObject* a : args) {
    if (a == nullptr) return Ref();
  }
  return steal(PyObject_Vectorcall(fn.get(), const_cast<PyObject**>(args.begin()), args.size(), nullptr));
}

// The runner is compiled once, in whichever interpreter needs it first, and
// kept as marshal bytes: unmarshalling takes 0.08 ms, compiling 2.5 ms.
Ref load_runner_code() {
  static std::once_flag once;
  static std::string bytecode;
  std::call_once(once, [] {
    Ref code = steal(Py_CompileString(kRunnerSource.data(), "<subcell>", Py_file_input));
    Ref bytes = code ? steal(PyMarshal_WriteObjectToString(code.get(), Py_MARSHAL_VERSION)) : Ref();
    if (bytes) bytecode.assign(PyBytes_AS_STRING(bytes.get()), PyBytes_GET_SIZE(bytes.get()));
    PyErr_Clear();
  });
  if (bytecode.empty()) return steal(Py_CompileString(kRunnerSource.data(), "<subcell>", Py_file_input));
  return steal(PyMarshal_ReadObjectFromString(bytecode.data(), static_cast<Py_ssize_t>(bytecode.size())));
}

Ref get_function(PyObject* ns, const char* name) {
  Ref fn = borrow(PyDict_GetItemString(ns, name));
  if (!fn) PyErr_Format(PyExc_RuntimeError, "subcell runner has no %s()", name);
  return fn;
}

// Sets `module.attr = value`; false (exception set) on failure.
bool set_module_attr(const char* module, const char* attr, PyObject* value) {
  Ref m = steal(PyImport_ImportModule(module));
  return m && PyObject_SetAttrString(m.get(), attr, value) == 0;
}

}  // namespace

Result<std::unique_ptr<PythonSession>> PythonSession::create(SessionIo& io, InterruptTarget& interrupts,
                                                             InterpreterKind kind, bool guard) {
  std::unique_ptr<Interpreter> interp;
  if (kind == InterpreterKind::kMain) {
    interp = Interpreter::adopt_main();
  } else {
    auto created = Interpreter::create();
    if (!created) return std::move(created).take_error();
    interp = std::move(*created);
  }
  interrupts.attach(interp->state(), kind == InterpreterKind::kMain ? InterruptTarget::Delivery::kSigint
                                                                     : InterruptTarget::Delivery::kPendingCall);
  std::unique_ptr<PythonSession> session(new PythonSession(std::move(interp), interrupts, kind));
  if (Status s = session->install(io, guard); !s) {
    session->close(std::chrono::milliseconds(100));
    return Error{0, "cannot set up the session: " + s.error().message};
  }
  session->interp_->detach();
  return session;
}

Status PythonSession::install(SessionIo& io, bool guard) {
  auto failed = [](const char* step) { return Error{0, error_from_current_exception(step).message + " (" + step + ")"}; };

  Ref module = steal(PyImport_ImportModule("_subcell"));
  if (!module || !bind_subcell_module(module.get(), &io, &interrupts_)) return failed("importing _subcell");

  Ref code = load_runner_code();
  Ref ns = steal(PyDict_New());
  if (!code || !ns) return failed("compiling the runner");
  if (PyDict_SetItemString(ns.get(), "__name__", Ref(text("_subcell_runner")).get()) < 0 ||
      PyDict_SetItemString(ns.get(), "__builtins__", PyEval_GetBuiltins()) < 0) {
    return failed("preparing the runner");
  }
  if (!Ref(steal(PyEval_EvalCode(code.get(), ns.get(), ns.get())))) return failed("loading the runner");

  run_ = get_function(ns.get(), "run");
  reset_ = get_function(ns.get(), "reset");
  complete_ = get_function(ns.get(), "complete");
  prelude_ = get_function(ns.get(), "prelude");
  warm_up_ = get_function(ns.get(), "warm_up");
  update_environment_ = get_function(ns.get(), "update_environment");
  needs_process_ = get_function(ns.get(), "needs_process");
  use_environment_ = get_function(ns.get(), "use_environment");
  finalize_ = get_function(ns.get(), "finalize");
  variables_ = get_function(ns.get(), "variables");
  inspect_ = get_function(ns.get(), "inspect_name");
  Ref install_displays = get_function(ns.get(), "install_displays");
  Ref install_input = get_function(ns.get(), "install_input");
  Ref install_figures = get_function(ns.get(), "install_figures");
  Ref block = get_function(ns.get(), "block_modules");
  Ref install_stdio = get_function(ns.get(), "install_stdio");
  Ref patch_threading = get_function(ns.get(), "patch_threading");
  Ref setup_site = get_function(ns.get(), "setup_site");
  Ref isolate_environment = get_function(ns.get(), "isolate_environment");
  Ref interruptible = get_function(ns.get(), "make_blocking_calls_interruptible");
  Ref install_guard = get_function(ns.get(), "install_guard");
  if (!run_ || !reset_ || !complete_ || !prelude_ || !warm_up_ || !update_environment_ || !needs_process_ || !finalize_ ||
      !variables_ || !inspect_ ||
      !install_displays || !install_input || !install_figures || !block ||
      !install_stdio ||
      !patch_threading || !setup_site || !isolate_environment || !interruptible || !install_guard) {
    return failed("loading the runner");
  }

  const bool sub = kind_ == InterpreterKind::kSubinterpreter;
  if (sub) {
    // The main interpreter of a worker imported `site` for real; a
    // subinterpreter gets its result replayed, and the module policy.
    const SiteSetup& site = site_setup();
    Ref path = steal(PyList_New(0));
    Ref pth = steal(PyList_New(0));
    for (const auto& [list, items] : {std::pair{&path, &site.path}, std::pair{&pth, &site.pth_imports}}) {
      for (const std::string& item : *items) {
        if (!*list || PyList_Append(list->get(), text(item).get()) < 0) return failed("preparing sys.path");
      }
    }
    Ref site_failures = call(setup_site, {path.get(), pth.get()});
    if (!site_failures) return failed("setting up sys.path and builtins");
    for (Py_ssize_t i = 0; PyList_Check(site_failures.get()) && i < PyList_GET_SIZE(site_failures.get()); ++i) {
      log::warn("a .pth import failed in a session: " + to_utf8(PyList_GET_ITEM(site_failures.get(), i)));
    }

    Ref reasons = steal(PyDict_New());
    for (const BlockedModule& b : module_policy(PY_MINOR_VERSION).block_in_sessions) {
      if (!reasons || PyDict_SetItem(reasons.get(), text(b.name).get(), text(b.reason).get()) < 0) {
        return failed("blocking unsafe modules");
      }
    }
    if (!call(block, {reasons.get()})) return failed("blocking unsafe modules");
  }
  if (!call(install_stdio, {})) return failed("installing stdout/stderr");
  if (!install_xi(io, interrupts_)) return failed("installing subcell's channels and child interpreters");
  if (!call(install_displays, {})) return failed("installing display()");
  if (!call(install_input, {})) return failed("installing input()");
  if (!call(install_figures, {})) return failed("installing the matplotlib backend");
  if (!call(patch_threading, {sub ? Py_True : Py_False})) return failed("patching threading");
  if (sub) {
    // Signals reach a main interpreter's blocking calls; a subinterpreter's
    // waits are made interruptible here instead.
    if (!call(isolate_environment, {})) return failed("giving the session its own environment");
    if (!call(interruptible, {})) return failed("making blocking calls interruptible");
    if (guard && !call(install_guard, {})) return failed("installing the session guard");
    Ref sleep = steal(PyObject_GetAttrString(module.get(), "sleep"));
    if (!sleep || !set_module_attr("time", "sleep", sleep.get())) return failed("installing time.sleep");
    Ref frames = steal(PyObject_GetAttrString(module.get(), "current_frames"));
    if (!frames || !set_module_attr("sys", "_current_frames", frames.get())) {
      return failed("installing sys._current_frames");
    }
  }

  // Warm the path every cell takes (the AST types are built on first use,
  // about 0.5 ms), so a session's first cell is as quick as its others.
  if (!call(run_, {Ref(text("None")).get(), Ref(steal(PyLong_FromLong(0))).get()})) return failed("warming up");
  return Ok{};
}

PythonSession::~PythonSession() {
  if (!closed_) close(std::chrono::milliseconds(500));
}

namespace {

std::vector<std::string> strings_of(PyObject* seq) {
  std::vector<std::string> out;
  if (seq == nullptr || !PyTuple_Check(seq)) return out;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(seq); ++i) out.push_back(to_utf8(PyTuple_GET_ITEM(seq, i)));
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Suggestion restart_in_process(std::vector<std::string> modules) {
  Suggestion s;
  s.action = "restartInProcess";
  s.message = "Restart this session in a process (isolation \"process\"), where " + joined(modules) +
              (modules.size() == 1 ? " loads" : " load") + "; its variables are lost.";
  s.modules = std::move(modules);
  return s;
}

}  // namespace

std::optional<NeedsProcess> PythonSession::placement(std::string_view code) {
  Interpreter::Scope attached(*interp_);
  ProcessModules& known = ProcessModules::instance();
  if (const std::uint64_t generation = known.generation(); generation != process_modules_generation_) {
    Ref set = steal(PyFrozenSet_New(nullptr));
    for (const std::string& m : known.all()) {
      if (set && PySet_Add(set.get(), text(m).get()) < 0) set = Ref();
    }
    if (!set) {
      PyErr_Clear();
      return std::nullopt;
    }
    process_modules_ = set;
    process_modules_generation_ = generation;
  }
  Ref needed = call(needs_process_, {text(code).get(), process_modules_.get()});
  if (!needed || !PyTuple_Check(needed.get()) || PyTuple_GET_SIZE(needed.get()) != 2) {
    PyErr_Clear();
    return std::nullopt;
  }
  NeedsProcess n;
  n.modules = strings_of(PyTuple_GET_ITEM(needed.get(), 0));
  n.movable = PyTuple_GET_ITEM(needed.get(), 1) != Py_True;
  return n;
}

RunOutcome PythonSession::refuse(const NeedsProcess& needs) {
  RunOutcome outcome;
  outcome.execution_count = ++count_;
  outcome.needs_process = needs;
  ErrorInfo& e = outcome.error.emplace();
  e.type = "ImportError";
  e.message = joined(needs.modules) + (needs.modules.size() == 1 ? " cannot" : " cannot") +
              " be imported in a subinterpreter, and this session already holds variables, so it was not moved "
              "to a process; the cell did not run";
  e.traceback = "ImportError: " + e.message + "\n";
  e.suggestion = restart_in_process(needs.modules);
  return outcome;
}

RunOutcome PythonSession::run(std::string_view code, std::uint64_t token,
                              std::optional<std::chrono::milliseconds> time_limit) {
  Interpreter::Scope attached(*interp_);
  RunOutcome outcome;
  outcome.execution_count = ++count_;
  interrupts_.cell_started(token);
  const auto start = Clock::now();
  if (time_limit) interrupts_.interrupt_at(token, start + *time_limit);
  Ref result = call(run_, {text(code).get(), Ref(steal(PyLong_FromLong(count_))).get()});
  interrupts_.cell_finished();
  outcome.duration_ms = ms_since(start);

  if (!result || !PyTuple_Check(result.get()) || PyTuple_GET_SIZE(result.get()) != 4) {
    // Only an exception raised inside the runner itself (an interrupt that
    // landed between its statements, say) gets here.
    outcome.error = error_from_current_exception("running the cell");
  } else {
    PyObject* value = PyTuple_GET_ITEM(result.get(), 0);
    PyObject* error = PyTuple_GET_ITEM(result.get(), 1);
    outcome.defines_code = PyTuple_GET_ITEM(result.get(), 2) == Py_True;
    std::vector<std::string> refused = strings_of(PyTuple_GET_ITEM(result.get(), 3));
    if (error != Py_None) {
      outcome.error = error_from_tuple(error);
    } else if (value != Py_None) {
      outcome.value = bundle_from_dict(value);
    }
    if (!refused.empty()) {
      ProcessModules::instance().learn(refused);
      if (outcome.error) outcome.error->suggestion = restart_in_process(std::move(refused));
    }
  }
  if (time_limit && interrupts_.timed_out() && outcome.error && outcome.error->type == "KeyboardInterrupt") {
    // The deadline's interrupt is a KeyboardInterrupt like any other (only
    // code that catches everything sees it); the result says what it was.
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", std::chrono::duration<double>(*time_limit).count());
    outcome.timed_out = true;
    outcome.error->message = std::string("the cell ran past its time limit of ") + seconds + " s";
    outcome.error->traceback += "(subcell: " + outcome.error->message + ")\n";
  }
  return outcome;
}

ResetOutcome PythonSession::reset(std::uint64_t token) {
  Interpreter::Scope attached(*interp_);
  ResetOutcome outcome;
  const auto start = Clock::now();
  if (token != 0) interrupts_.cell_started(token);
  Ref removed = call(reset_, {});
  if (token != 0) interrupts_.cell_finished();
  outcome.duration_ms = ms_since(start);
  if (!removed) {
    log::warn("reset: " + error_from_current_exception("resetting __main__").message);
  } else {
    outcome.removed_names = static_cast<int>(PyLong_AsLong(removed.get()));
  }
  return outcome;
}

CompleteOutcome PythonSession::complete(std::string_view code, std::optional<std::size_t> cursor) {
  Interpreter::Scope attached(*interp_);
  CompleteOutcome outcome;
  Ref source = text(code);
  if (!source) {
    PyErr_Clear();
    return outcome;
  }
  const Py_ssize_t length = PyUnicode_GET_LENGTH(source.get());
  const Py_ssize_t at = cursor ? std::min<Py_ssize_t>(static_cast<Py_ssize_t>(*cursor), length) : length;
  outcome.cursor_start = outcome.cursor_end = static_cast<std::size_t>(at);
  Ref result = call(complete_, {source.get(), Ref(steal(PyLong_FromSsize_t(at))).get()});
  if (!result || !PyTuple_Check(result.get()) || PyTuple_GET_SIZE(result.get()) != 3) {
    PyErr_Clear();
    return outcome;
  }
  PyObject* matches = PyTuple_GET_ITEM(result.get(), 0);
  for (Py_ssize_t i = 0; PyList_Check(matches) && i < PyList_GET_SIZE(matches); ++i) {
    outcome.matches.push_back(to_utf8(PyList_GET_ITEM(matches, i)));
  }
  outcome.cursor_start = PyLong_AsSize_t(PyTuple_GET_ITEM(result.get(), 1));
  outcome.cursor_end = PyLong_AsSize_t(PyTuple_GET_ITEM(result.get(), 2));
  if (PyErr_Occurred()) PyErr_Clear();
  return outcome;
}

namespace {

// The inspector thread attached to the session's interpreter for a scope,
// through its own thread state (made on first use, on that thread).
class InspectorScope {
 public:
  InspectorScope(PyThreadState*& tstate, PyInterpreterState* interp) {
    if (tstate == nullptr) tstate = PyThreadState_New(interp);
    PyEval_RestoreThread(tstate);
  }
  ~InspectorScope() { PyEval_SaveThread(); }
  InspectorScope(const InspectorScope&) = delete;
  InspectorScope& operator=(const InspectorScope&) = delete;
};

std::optional<std::string> optional_text(PyObject* dict, const char* key) {
  PyObject* v = PyDict_GetItemString(dict, key);  // borrowed
  if (v == nullptr || !PyUnicode_Check(v)) return std::nullopt;
  return to_utf8(v);
}

}  // namespace

VariablesOutcome PythonSession::variables(std::size_t offset, std::size_t limit) {
  InspectorScope attached(inspector_, interp_->state());
  VariablesOutcome outcome;
  outcome.offset = offset;
  Ref page = call(variables_, {Ref(steal(PyLong_FromSize_t(offset))).get(), Ref(steal(PyLong_FromSize_t(limit))).get()});
  if (!page || !PyTuple_Check(page.get()) || PyTuple_GET_SIZE(page.get()) != 2) {
    log::warn("session/variables: " + error_from_current_exception("listing variables").message);
    return outcome;
  }
  PyObject* list = PyTuple_GET_ITEM(page.get(), 0);
  outcome.total = PyLong_AsSize_t(PyTuple_GET_ITEM(page.get(), 1));
  for (Py_ssize_t i = 0; PyList_Check(list) && i < PyList_GET_SIZE(list); ++i) {
    PyObject* v = PyList_GET_ITEM(list, i);
    if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 5) continue;
    VariableInfo info{to_utf8(PyTuple_GET_ITEM(v, 0)), to_utf8(PyTuple_GET_ITEM(v, 1)), to_utf8(PyTuple_GET_ITEM(v, 2)),
                      std::nullopt, std::nullopt};
    if (PyObject* n = PyTuple_GET_ITEM(v, 3); PyLong_Check(n)) info.length = PyLong_AsLongLong(n);
    if (PyObject* shape = PyTuple_GET_ITEM(v, 4); PyList_Check(shape)) {
      std::vector<long long> dims;
      for (Py_ssize_t d = 0; d < PyList_GET_SIZE(shape); ++d) dims.push_back(PyLong_AsLongLong(PyList_GET_ITEM(shape, d)));
      info.shape = std::move(dims);
    }
    outcome.variables.push_back(std::move(info));
  }
  PyErr_Clear();
  return outcome;
}

InspectOutcome PythonSession::inspect(std::string_view code, std::optional<std::size_t> cursor) {
  InspectorScope attached(inspector_, interp_->state());
  InspectOutcome outcome;
  Ref source = text(code);
  if (!source) {
    PyErr_Clear();
    return outcome;
  }
  const Py_ssize_t length = PyUnicode_GET_LENGTH(source.get());
  const Py_ssize_t at = cursor ? std::min<Py_ssize_t>(static_cast<Py_ssize_t>(*cursor), length) : length;
  Ref found = call(inspect_, {source.get(), Ref(steal(PyLong_FromSsize_t(at))).get()});
  if (!found || !PyDict_Check(found.get())) {
    PyErr_Clear();
    return outcome;
  }
  outcome.found = PyDict_GetItemString(found.get(), "found") == Py_True;
  if (!outcome.found) return outcome;
  outcome.name = optional_text(found.get(), "name").value_or("");
  outcome.type = optional_text(found.get(), "type").value_or("");
  outcome.signature = optional_text(found.get(), "signature");
  outcome.docstring = optional_text(found.get(), "docstring");
  outcome.repr = optional_text(found.get(), "repr");
  return outcome;
}

void PythonSession::release_inspector() {
  if (inspector_ == nullptr) return;
  PyEval_RestoreThread(inspector_);
  PyThreadState_Clear(inspector_);
  PyThreadState_DeleteCurrent();
  inspector_ = nullptr;
}

std::optional<ErrorInfo> PythonSession::prelude(std::string_view code) {
  Interpreter::Scope attached(*interp_);
  Ref result = call(prelude_, {text(code).get()});
  if (!result) return error_from_current_exception("running the prelude");
  if (result.get() == Py_None) return std::nullopt;
  return error_from_tuple(result.get());
}

void PythonSession::warm_up() {
  Interpreter::Scope attached(*interp_);
  if (!call(warm_up_, {})) PyErr_Clear();
}

void PythonSession::update_environment(const std::map<std::string, std::optional<std::string>>& env) {
  Interpreter::Scope attached(*interp_);
  Ref changes = steal(PyDict_New());
  for (const auto& [name, value] : env) {
    Ref v = value ? text(*value) : borrow(Py_None);
    if (!changes || !v || PyDict_SetItem(changes.get(), Ref(text(name)).get(), v.get()) < 0) break;
  }
  if (changes && !call(update_environment_, {changes.get()})) {
    log::warn("setting the session's environment: " + error_from_current_exception("environment").message);
  }
  PyErr_Clear();
}

Status PythonSession::use_environment(const std::string& prefix, const std::string& executable,
                                      bool system_site_packages) {
  Interpreter::Scope attached(*interp_);
  if (!use_environment_) return Error{0, "the runner has no use_environment()"};
  Ref done = call(use_environment_, {text(prefix).get(), text(executable).get(), system_site_packages ? Py_True : Py_False});
  if (!done) return Error{0, "using the environment " + prefix + ": " + error_from_current_exception("environment").message};
  return Ok{};
}

Status PythonSession::set_cwd(const std::string& dir) {
  if (::chdir(dir.c_str()) != 0) {
    return Error{0, "cannot change the working directory to '" + dir + "': " + std::strerror(errno)};
  }
  prepend_sys_path(dir);
  return Ok{};
}

void PythonSession::prepend_sys_path(const std::string& dir) {
  Interpreter::Scope attached(*interp_);
  PyObject* path = PySys_GetObject("path");  // borrowed
  Ref entry = text(dir);
  if (path == nullptr || !PyList_Check(path) || !entry) {
    PyErr_Clear();
    return;
  }
  int present = PySequence_Contains(path, entry.get());
  if (present == 0) PyList_Insert(path, 0, entry.get());
  if (PyErr_Occurred()) PyErr_Clear();
}

CloseOutcome PythonSession::close(std::chrono::milliseconds grace) {
  if (closed_) return {};
  closed_ = true;
  interp_->attach();
  if (finalize_) {
    // A token no cell uses: the close's own deadline.
    constexpr std::uint64_t kClosing = ~std::uint64_t{0};
    interrupts_.cell_started(kClosing);
    interrupts_.interrupt_at(kClosing, Clock::now() + grace);
    if (!call(finalize_, {})) PyErr_Clear();
    interrupts_.cell_finished();
  }
  run_.reset();
  reset_.reset();
  complete_.reset();
  prelude_.reset();
  warm_up_.reset();
  update_environment_.reset();
  needs_process_.reset();
  use_environment_.reset();
  finalize_.reset();
  variables_.reset();
  inspect_.reset();
  process_modules_.reset();
  return interp_->end(interrupts_, grace);
}

}  // namespace subcell::py
