#include "workers/python_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "rpc/json.h"

extern char** environ;

namespace subcell {
namespace {

constexpr const char* kProbe =
    "import sys, json; print(json.dumps([sys.version.split()[0], sys.version_info[1], sys.prefix, "
    "sys.base_prefix, sys.executable]))";

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0 && !is_directory(path); }

// An environment directory's interpreter: bin/python3, bin/python.
std::string interpreter_of(const std::string& path) {
  if (!is_directory(path)) return path;
  for (const char* name : {"/bin/python3", "/bin/python"}) {
    if (is_executable(path + name)) return path + name;
  }
  return {};
}

// Runs `python -I -c kProbe` and returns what it printed, within `timeout`.
Result<std::string> run_probe(const std::string& python, std::chrono::milliseconds timeout) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error{0, std::string("pipe: ") + std::strerror(errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::string exe = python;
  std::string isolated = "-I";
  std::string dash_c = "-c";
  std::string code = kProbe;
  char* argv[] = {exe.data(), isolated.data(), dash_c.data(), code.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return Error{0, "cannot run it: " + std::string(std::strerror(rc))};
  }
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[4096];
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  // It closed its output: it is exiting (or hangs with it closed).
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline) {
    ::usleep(1000);
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return Error{0, "it did not answer within " + std::to_string(timeout.count()) + " ms"};
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Error{0, "it is not a Python that runs"};
  return text;
}

bool includes_system_site_packages(const std::string& prefix) {
  std::ifstream cfg(prefix + "/pyvenv.cfg");
  std::string line;
  while (std::getline(cfg, line)) {
    if (line.find("include-system-site-packages") == 0) return line.find("true") != std::string::npos;
  }
  return false;
}

}  // namespace

Result<PythonTarget> probe_python(const std::string& path, std::chrono::milliseconds timeout) {
  static std::map<std::string, PythonTarget> known;
  if (auto it = known.find(path); it != known.end()) return it->second;
  const std::string python = interpreter_of(path);
  if (python.empty()) return Error{0, "'" + path + "' is a directory without bin/python3 (not an environment)"};
  if (!is_executable(python)) return Error{0, "'" + python + "' is not an executable file"};
  auto printed = run_probe(python, timeout);
  if (!printed) return Error{0, "'" + python + "': " + printed.error().message};
  rpc::Json facts = rpc::Json::parse(*printed, nullptr, false);
  if (!facts.is_array() || facts.size() != 5 || !facts[1].is_number_integer()) {
    return Error{0, "'" + python + "' does not answer like CPython 3"};
  }
  PythonTarget target;
  target.version = facts[0].get<std::string>();
  target.minor = facts[1].get<int>();
  target.prefix = facts[2].get<std::string>();
  target.base_prefix = facts[3].get<std::string>();
  target.executable = facts[4].get<std::string>();
  target.system_site_packages = includes_system_site_packages(target.prefix);
  known.emplace(path, target);
  return target;
}

}  // namespace subcell
