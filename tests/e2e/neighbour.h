// Helpers for tests where one session misbehaves and the others must not
// notice: a neighbour session holding state, a scratch directory, and a
// scoped environment variable for the servers a test starts.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "server_process.h"

namespace subcell::testing {

// An interpreter session holding state that must survive whatever its
// neighbours do.
struct Neighbour {
  ServerProcess& server;
  std::string session;
  explicit Neighbour(ServerProcess& s, std::string id = "neighbour") : server(s), session(std::move(id)) {
    server.open_session({{"session", session}, {"isolation", "interpreter"}});
    server.result("cell/run", {{"session", session}, {"code", "kept = [1, 2, 3]"}});
  }
  void check_intact() {
    Json r = server.call("cell/run", {{"session", session}, {"code", "kept.append(len(kept) + 1)\nkept[:3]"}}, 20s);
    INFO(r.dump());
    REQUIRE(r.contains("result"));
    CHECK(text_of(r["result"]["value"]) == "[1, 2, 3]");
  }
};

// Waits for the cell/started of `session` (others' are skipped).
inline void wait_started(ServerProcess& server, const std::string& session) {
  for (;;) {
    auto started = server.wait_notification("cell/started", 20s);
    REQUIRE(started);
    if ((*started)["params"]["session"] == session) return;
  }
}

// A fresh directory under TMPDIR, removed with its contents at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "subcell-test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sets an environment variable (which servers started meanwhile inherit)
// and restores it at scope exit.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace subcell::testing
