#include "python/module_policy.h"

#include <cstdlib>
#include <cstring>

namespace subcell::py {
namespace {

// CPython 3.13: every crash in the import matrix comes from _datetime's
// static types being initialised by several interpreters at once (gh-136421):
// datetime, calendar, email, http.*, sqlite3, tomllib, zoneinfo, urllib... all
// go through it. One import in the main interpreter first removed them all.
const ModulePolicy k313{
    {"_datetime", "_zoneinfo", "_strptime"},
    {},
    true,
};

// CPython 3.12: _datetime and _decimal are single-phase modules whose init
// corrupts memory in a subinterpreter before the import is refused, even in
// one session; _curses and readline likewise (sometimes). _zoneinfo needs
// the C datetime API. Blocking them makes datetime, decimal and zoneinfo use
// their pure-Python twins. hashlib, ssl and asyncio crash at interpreter end
// unless their accelerators were first loaded by the main interpreter, and
// even then the final Py_FinalizeEx aborts, so a 3.12 server leaves with
// _exit() after flushing.
const ModulePolicy k312{
    {"_asyncio", "_hashlib", "_ssl", "_strptime"},
    {
        {"_datetime", "its C accelerator corrupts memory in subinterpreters on CPython 3.12; datetime uses _pydatetime"},
        {"_decimal", "its C accelerator corrupts memory in subinterpreters on CPython 3.12; decimal uses _pydecimal"},
        {"_zoneinfo", "it needs the C datetime API, which sessions do not load on CPython 3.12"},
        {"_curses", "it crashes CPython 3.12 when loaded in a subinterpreter"},
        {"_curses_panel", "it crashes CPython 3.12 when loaded in a subinterpreter"},
        {"readline", "it can crash CPython 3.12 when loaded in a subinterpreter"},
    },
    false,
};

}  // namespace

const ModulePolicy& module_policy(int minor) {
  // SUBCELL_MODULE_POLICY=off measures a CPython release without the
  // remedies (tests/stress/import_every_module shows what then crashes).
  static const ModulePolicy kNone{{}, {}, true};
  static const bool off = [] {
    const char* v = std::getenv("SUBCELL_MODULE_POLICY");
    return v != nullptr && std::strcmp(v, "off") == 0;
  }();
  if (off) return kNone;
  return minor <= 12 ? k312 : k313;
}

}  // namespace subcell::py
