// Catch2 main for tests that need the real CPython: initialised once for
// the whole run, like pybind11's tests/test_with_catch/catch.cpp.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "python/runtime.h"

int main(int argc, char** argv) {
  auto runtime = subcell::py::Runtime::start();
  if (!runtime) {
    std::cerr << runtime.error().message << "\n";
    return 2;
  }
  const int rc = Catch::Session().run(argc, argv);
  if (!(*runtime)->finalize()) {
    std::fflush(nullptr);
    _exit(rc);
  }
  return rc;
}
