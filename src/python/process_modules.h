// ProcessModules: the modules known to need a process session because they
// refuse to load in a subinterpreter (single-phase init extensions: numpy,
// pandas, readline, _testsinglephase...), for `auto` placement.
//
// A built-in seed list, plus every module that any session of this Python
// version saw refuse (CPython's "does not support loading in
// subinterpreters" ImportError), learned and kept in the user's cache
// directory ($XDG_CACHE_HOME/subcell/process-modules-3.13.txt) so that the
// next server knows them too. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace subcell::py {

class ProcessModules {
 public:
  // The registry of the Python version this process runs.
  static ProcessModules& instance();

  // Adds modules; those that are new are written to the cache file.
  // Returns the new ones.
  std::vector<std::string> learn(const std::vector<std::string>& modules);
  std::vector<std::string> all() const;
  // Changes whenever the set grows (cheap check for cached copies).
  std::uint64_t generation() const;
  const std::string& cache_file() const { return file_; }

  // The seed list, for documentation and tests.
  static const std::vector<std::string>& seeds();

 private:
  ProcessModules();
  void load_file();

  mutable std::mutex mutex_;
  std::set<std::string> modules_;
  std::uint64_t generation_ = 1;
  std::string file_;
};

}  // namespace subcell::py
