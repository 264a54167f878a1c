#include "python/process_modules.h"

#include <Python.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "support/log.h"

namespace subcell::py {
namespace {

bool is_module_name(const std::string& name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return !std::isdigit(static_cast<unsigned char>(name[0]));
}

// $XDG_CACHE_HOME/subcell, else ~/.cache/subcell; empty if neither is known.
std::string cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/subcell";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/subcell";
  return {};
}

void make_dirs(const std::string& path) {
  for (std::size_t at = 1; at != std::string::npos;) {
    at = path.find('/', at + 1);
    ::mkdir(path.substr(0, at).c_str(), 0700);
  }
}

}  // namespace

const std::vector<std::string>& ProcessModules::seeds() {
  // Extension modules that refuse subinterpreters (single-phase init, or
  // PyO3/Cython modules that do not declare support), and packages that
  // import them. CPython's own: readline, curses, tkinter, faulthandler
  // (tracemalloc, _testsinglephase).
  static const std::vector<std::string> kSeeds{
      // the scientific stack, numpy first (numpy#24755)
      "numpy", "pandas", "scipy", "matplotlib", "sklearn", "skimage", "statsmodels", "seaborn", "xarray",
      "numba", "numexpr", "bottleneck", "h5py", "tables", "pyarrow", "polars", "dask",
      // machine learning
      "torch", "torchvision", "torchaudio", "tensorflow", "keras", "jax", "jaxlib", "transformers", "tokenizers",
      "cv2", "PIL", "lightgbm", "xgboost", "catboost",
      // PyO3, Cython and C extensions seen refusing
      "pydantic_core", "pydantic", "orjson", "cryptography", "lxml", "psycopg2", "regex",
      "ujson", "zmq", "greenlet", "gevent",
      // CPython's own
      "readline", "curses", "_curses", "tkinter", "_tkinter", "faulthandler", "tracemalloc", "_testsinglephase",
  };
  return kSeeds;
}

ProcessModules& ProcessModules::instance() {
  static ProcessModules registry;
  return registry;
}

ProcessModules::ProcessModules() {
  for (const std::string& m : seeds()) modules_.insert(m);
  if (const std::string dir = cache_dir(); !dir.empty()) {
    file_ = dir + "/process-modules-" + std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION) +
            ".txt";
    load_file();
  }
}

void ProcessModules::load_file() {
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    if (is_module_name(line)) modules_.insert(line);
  }
}

std::vector<std::string> ProcessModules::learn(const std::vector<std::string>& modules) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> added;
  for (const std::string& m : modules) {
    if (is_module_name(m) && modules_.insert(m).second) added.push_back(m);
  }
  if (added.empty()) return added;
  ++generation_;
  if (file_.empty()) return added;
  // Another server may have learned others since: keep theirs too, and
  // replace the file in one rename.
  load_file();
  make_dirs(file_.substr(0, file_.rfind('/')));
  const std::string temp = file_ + "." + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    const auto& seed = seeds();
    for (const std::string& m : modules_) {
      if (std::find(seed.begin(), seed.end(), m) == seed.end()) out << m << "\n";
    }
    if (!out) {
      log::warn("cannot write " + temp);
      return added;
    }
  }
  if (std::rename(temp.c_str(), file_.c_str()) != 0) log::warn("cannot write " + file_);
  log::info("learned that these modules need a process session: " + added.front() +
            (added.size() > 1 ? " (and " + std::to_string(added.size() - 1) + " more)" : ""));
  return added;
}

std::vector<std::string> ProcessModules::all() const {
  std::lock_guard lock(mutex_);
  return {modules_.begin(), modules_.end()};
}

std::uint64_t ProcessModules::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

}  // namespace subcell::py
