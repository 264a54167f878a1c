// subcell_bench: the subcell half of the benchmark against Jupyter kernels.
//
// Spawns `subcell serve` on pipes, speaks the protocol (LSP framing) with a
// small hand-written client that shares no code with the server, measures
// every figure at the client, and prints one JSON object on stdout
// (progress goes to stderr). tests/bench/bench.py runs this, runs the same
// measurements against ipykernel, and prints the side-by-side table.
//
//   subcell_bench --server PATH [--quick] [--only a,b,...] [--sessions N]
//
// Sections: server_start, session_start, round_trip, reset, memory,
// parallel, streaming, many_sessions, churn. session_start, round_trip and
// memory measure process sessions (a worker process each) too; churn is
// memory over many session open/close cycles, with sessions in the server
// and in recycled workers. No timed assertions: it only reports (the exit
// status is non-zero only when the protocol fails).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}
double us_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

double monotonic_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void progress(const std::string& what) {
  std::cerr << "[subcell_bench] " << what << std::endl;
}

// ---- statistics -----------------------------------------------------------

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  // Linear interpolation between closest ranks (numpy's default).
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = static_cast<std::size_t>(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

Json stats(const std::vector<double>& v) {
  if (v.empty()) return Json{{"n", 0}};
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  auto r = [](double x) { return std::round(x * 1e4) / 1e4; };
  return Json{{"n", v.size()},
              {"median", r(percentile(v, 50))},
              {"p10", r(percentile(v, 10))},
              {"p90", r(percentile(v, 90))},
              {"p99", r(percentile(v, 99))},
              {"min", r(*std::min_element(v.begin(), v.end()))},
              {"max", r(*std::max_element(v.begin(), v.end()))},
              {"mean", r(mean)}};
}

// ---- /proc ----------------------------------------------------------------

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    closedir(d);
  }
  return out;
}

// A "Key:   123 kB" field of /proc/<pid>/status or smaps_rollup, in kB.
long proc_kb(pid_t pid, const char* file, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() && line[key.size()] == ':') {
      return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

long rss_kb_fast(pid_t pid) {  // from statm: cheap enough to sample often
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// utime + stime of a process, in seconds.
double proc_cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return NAN;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double ut = 0, st = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) ut = std::stod(f);
    if (i == 15) {
      st = std::stod(f);
      break;
    }
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU time of each live thread of a process (tid -> ns), from schedstat.
std::map<long, std::pair<std::string, double>> thread_cpu_ns(pid_t pid) {
  std::map<long, std::pair<std::string, double>> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task/";
  for (const auto& tid : list_dir(dir)) {
    std::ifstream st(dir + tid + "/schedstat");
    double ns = 0;
    if (!(st >> ns)) continue;
    std::ifstream comm_in(dir + tid + "/comm");
    std::string comm;
    std::getline(comm_in, comm);
    out[std::stol(tid)] = {comm, ns};
  }
  return out;
}

// Per-thread CPU between two snapshots, busiest first, in us per `per`.
Json thread_cpu_delta(const std::map<long, std::pair<std::string, double>>& before,
                      const std::map<long, std::pair<std::string, double>>& after, pid_t pid, double per) {
  std::vector<std::pair<double, Json>> rows;
  for (const auto& [tid, v] : after) {
    auto it = before.find(tid);
    const double delta = v.second - (it == before.end() ? 0.0 : it->second.second);
    if (delta <= 0) continue;
    rows.push_back({delta, Json{{"tid", tid},
                                {"comm", v.first},
                                {"role", tid == pid ? "main (libuv loop)" : "other"},
                                {"usPer", std::round(delta / 1e3 / per * 100) / 100}}});
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  Json out = Json::array();
  for (auto& r : rows) out.push_back(r.second);
  return out;
}

double self_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU time of every thread of a process, in ns (schedstat: precise over few cells).
double process_cpu_ns(pid_t pid) {
  double total = 0;
  for (const auto& [tid, v] : thread_cpu_ns(pid)) total += v.second;
  return total;
}

Json memory_snapshot(pid_t pid) {
  return Json{{"rssKb", proc_kb(pid, "status", "VmRSS")},
              {"pssKb", proc_kb(pid, "smaps_rollup", "Pss")},
              {"privateKb", proc_kb(pid, "smaps_rollup", "Private_Dirty") + proc_kb(pid, "smaps_rollup", "Private_Clean")},
              {"hwmKb", proc_kb(pid, "status", "VmHWM")},
              {"threads", proc_kb(pid, "status", "Threads")}};
}

// A server and its worker processes (children of any of its threads).
std::vector<pid_t> with_children(pid_t pid) {
  std::vector<pid_t> out{pid};
  const std::string dir = "/proc/" + std::to_string(pid) + "/task/";
  for (const auto& tid : list_dir(dir)) {
    std::ifstream in(dir + tid + "/children");
    for (pid_t child; in >> child;) out.push_back(child);
  }
  return out;
}

// RSS / PSS / private summed over processes (PSS splits the pages they share).
Json memory_of(const std::vector<pid_t>& pids) {
  long rss = 0, pss = 0, priv = 0;
  for (pid_t p : pids) {
    rss += std::max(0L, proc_kb(p, "status", "VmRSS"));
    pss += std::max(0L, proc_kb(p, "smaps_rollup", "Pss"));
    priv += std::max(0L, proc_kb(p, "smaps_rollup", "Private_Dirty")) +
            std::max(0L, proc_kb(p, "smaps_rollup", "Private_Clean"));
  }
  return Json{{"rssKb", rss}, {"pssKb", pss}, {"privateKb", priv}, {"processes", pids.size()}};
}

// Samples a process's RSS every few ms on its own thread.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid, std::chrono::milliseconds every = std::chrono::milliseconds(5))
      : pid_(pid), thread_([this, every] {
          while (!stop_.load()) {
            const long kb = rss_kb_fast(pid_);
            long seen = peak_.load();
            while (kb > seen && !peak_.compare_exchange_weak(seen, kb)) {
            }
            samples_.fetch_add(1);
            std::this_thread::sleep_for(every);
          }
        }) {}
  ~RssSampler() { stop(); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  long peak_kb() const { return peak_.load(); }
  long samples() const { return samples_.load(); }

 private:
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<long> peak_{0};
  std::atomic<long> samples_{0};
  std::thread thread_;
};

// ---- the client -----------------------------------------------------------

struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Server {
 public:
  Server(const std::string& binary, std::vector<std::string> args, const std::string& stderr_path) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw ProtocolError("pipe2 failed");
    const int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    if (err >= 0) posix_spawn_file_actions_adddup2(&actions, err, 2);
    std::vector<std::string> argv_storage{binary, "serve"};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    spawned_ = Clock::now();
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err >= 0) ::close(err);
    ::close(in[0]);
    ::close(out[1]);
    if (rc != 0) throw ProtocolError("posix_spawn " + binary + ": " + std::strerror(rc));
    to_ = in[1];
    from_ = out[0];
    fcntl(to_, F_SETFL, O_NONBLOCK);
    inbox_.reserve(1 << 20);
  }

  ~Server() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0) {
      int status = 0;
      for (int i = 0; i < 500; ++i) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }

  pid_t pid() const { return pid_; }
  Clock::time_point spawned() const { return spawned_; }

  // initialize + initialized; returns the initialize result.
  Json initialize(Json options = Json::object()) {
    Json params{{"processId", static_cast<int>(getpid())}, {"clientInfo", {{"name", "subcell_bench"}}}};
    if (!options.empty()) params["initializationOptions"] = options;
    Json r = result("initialize", params);
    notify("initialized", Json::object());
    return r;
  }

  std::int64_t send(const std::string& method, const Json& params) {
    const std::int64_t id = next_id_++;
    Json m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) m["params"] = params;
    write_frame(m.dump());
    return id;
  }
  void notify(const std::string& method, const Json& params) {
    Json m{{"jsonrpc", "2.0"}, {"method", method}};
    if (!params.is_null()) m["params"] = params;
    write_frame(m.dump());
  }

  // The response with this id (notifications meanwhile go to on_notification).
  Json wait(std::int64_t id, std::chrono::seconds timeout = std::chrono::seconds(300)) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto it = responses_.find(id); it != responses_.end()) {
        Json r = std::move(it->second);
        responses_.erase(it);
        return r;
      }
      if (!read_one(deadline)) throw ProtocolError("timed out waiting for the response to request " + std::to_string(id));
    }
  }
  Json call(const std::string& method, const Json& params) { return wait(send(method, params)); }
  Json result(const std::string& method, const Json& params) {
    Json r = call(method, params);
    if (!r.contains("result")) throw ProtocolError(method + " failed: " + r.dump());
    return r["result"];
  }
  // cell/run; throws on a protocol error or when the cell raised.
  Json run(const std::string& session, const std::string& code) {
    Json r = result("cell/run", Json{{"session", session}, {"code", code}});
    if (!r["error"].is_null()) throw ProtocolError("cell raised: " + r["error"].dump());
    return r;
  }

  void shutdown() {
    try {
      call("shutdown", Json(nullptr));
      notify("exit", Json(nullptr));
    } catch (const std::exception& e) {
      progress(std::string("shutdown: ") + e.what());
    }
    ::close(to_);
    to_ = -1;
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    progress("the server did not exit in 10 s; killing it");
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::function<void(const Json&)> on_notification;
  std::uint64_t frames_received = 0;
  std::uint64_t body_bytes_received = 0;

 private:
  void write_frame(const std::string& body) {
    std::string frame = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    frame += body;
    std::size_t done = 0;
    while (done < frame.size()) {
      const ssize_t n = ::write(to_, frame.data() + done, frame.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        // The pipe is full: keep reading what the server writes so that
        // neither side waits for the other.
        pollfd fds[2] = {{to_, POLLOUT, 0}, {from_, POLLIN, 0}};
        ::poll(fds, 2, 1000);
        if (fds[1].revents & (POLLIN | POLLHUP)) fill();
        continue;
      }
      throw ProtocolError(std::string("write to the server: ") + std::strerror(errno));
    }
  }

  // Reads what is available (blocking until something is).
  void fill() {
    if (inbox_pos_ > 0 && inbox_pos_ == inbox_.size()) {
      inbox_.clear();
      inbox_pos_ = 0;
    } else if (inbox_pos_ > (1u << 20)) {
      inbox_.erase(0, inbox_pos_);
      inbox_pos_ = 0;
    }
    const std::size_t old = inbox_.size();
    inbox_.resize(old + (1u << 18));
    ssize_t n;
    do {
      n = ::read(from_, inbox_.data() + old, 1u << 18);
    } while (n < 0 && errno == EINTR);
    inbox_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n == 0) throw ProtocolError("the server closed its output");
    if (n < 0) throw ProtocolError(std::string("read from the server: ") + std::strerror(errno));
  }

  // Handles one frame; false on timeout.
  bool read_one(Clock::time_point deadline) {
    for (;;) {
      if (auto body = pop_frame()) {
        handle(*body);
        return true;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd fd{from_, POLLIN, 0};
      const int rc = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left, 1000)));
      if (rc > 0) fill();
    }
  }

  std::optional<std::string_view> pop_frame() {
    std::string_view in(inbox_);
    in.remove_prefix(inbox_pos_);
    const auto end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    std::size_t length = 0;
    bool have_length = false;
    std::string_view headers = in.substr(0, end);
    while (!headers.empty()) {
      const auto eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      constexpr std::string_view key = "content-length:";
      if (line.size() > key.size() &&
          std::equal(key.begin(), key.end(), line.begin(), [](char a, char b) { return a == std::tolower(b); })) {
        length = std::strtoull(std::string(line.substr(key.size())).c_str(), nullptr, 10);
        have_length = true;
      }
    }
    if (!have_length) throw ProtocolError("a frame without Content-Length");
    if (in.size() < end + 4 + length) return std::nullopt;
    inbox_pos_ += end + 4 + length;
    ++frames_received;
    body_bytes_received += length;
    return in.substr(end + 4, length);
  }

  void handle(std::string_view body) {
    Json m = Json::parse(body);
    if (m.contains("id") && !m.contains("method")) {
      if (!m["id"].is_number_integer()) throw ProtocolError("a response without a request: " + m.dump());
      responses_.emplace(m["id"].get<std::int64_t>(), std::move(m));
    } else if (on_notification) {
      on_notification(m);
    }
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  Clock::time_point spawned_;
  std::string inbox_;
  std::size_t inbox_pos_ = 0;
  std::int64_t next_id_ = 1;
  std::unordered_map<std::int64_t, Json> responses_;
};

// ---- configuration ----------------------------------------------------------

struct Config {
  std::string server;
  std::string stderr_path = "/dev/null";
  bool quick = false;
  std::set<std::string> only;
  int start_reps = 40;
  int rt_cells = 5000;
  int rt_warmup = 300;
  int list_calls = 2000;
  int pipelined_cells = 2000;
  int reset_reps = 200;
  int reset_names = 300;
  int mem_sessions = 50;
  int parallel_cells = 8;  // per session
  int parallel_reps = 3;
  std::vector<int> parallel_n;
  int stream_lines = 200000;
  int stream_reps = 5;
  int many_sessions = 500;
  int warm_gap_ms = 0;  // pause before each warm open; 0: 3x the cold start + 30 ms
  int process_mem_sessions = 10;  // process sessions: a worker process each
  // Churn: open -> 1+1 -> close cycles. In the server, CPython's leak
  // (gh-110411, ~2 MB per interpreter) is kept: 1,200 cycles stay under
  // ~3.5 GB; in recycled workers the full 5,000.
  int churn_cycles_in_server = 1200;
  int churn_cycles_in_workers = 5000;
  int churn_recycle_after = 200;  // --recycle-after-sessions of the workers curve
  std::string cpu_cell;
  std::string mem_cell = "import json, re, collections";
  bool wants(const std::string& section) const { return only.empty() || only.count(section) != 0; }
};

const char* kCpuCell =
    "def _work(n):\n"
    "    s = 0\n"
    "    for i in range(n):\n"
    "        s += i * i % 7\n"
    "    return s\n"
    "_work(1_500_000)";

// Two streaming cells: short lines ("line <i>"), where print() itself is
// the bottleneck, and 100-byte lines, where the output path is.
constexpr int kLongLine = 100;  // bytes per long line, newline included

std::string stream_print(bool long_lines) { return long_lines ? "print(_s)" : "print('line', i)"; }

std::string stream_cell(int lines, bool long_lines) {
  return "_s = 'x' * " + std::to_string(kLongLine - 1) + "\nfor i in range(" + std::to_string(lines) + "):\n    " +
         stream_print(long_lines);
}
// The bytes that cell prints.
std::uint64_t stream_bytes(int lines, bool long_lines) {
  if (long_lines) return static_cast<std::uint64_t>(lines) * kLongLine;
  std::uint64_t total = 0;
  for (int i = 0; i < lines; ++i) total += 6 + std::to_string(i).size();
  return total;
}

// The same printing into a sink whose write is the builtin len: what the
// print() calls cost in the interpreter itself, with no output path at all
// (the ceiling of this cell's MB/s).
std::string stream_floor_cell(int lines, bool long_lines) {
  return "import contextlib as _cl, time as _time, types as _types\n"
         "_s = 'x' * " + std::to_string(kLongLine - 1) + "\n"
         "_t0 = _time.perf_counter()\n"
         "with _cl.redirect_stdout(_types.SimpleNamespace(write=len, flush=lambda: None)):\n"
         "    for i in range(" + std::to_string(lines) + "):\n"
         "        " + stream_print(long_lines) + "\n"
         "(_time.perf_counter() - _t0) * 1000";
}

std::string reset_fill_cell(int names) {
  return "for _i in range(" + std::to_string(names) + "):\n    globals()[f'v{_i}'] = _i\ndel _i";
}

// ---- sections ---------------------------------------------------------------

Json bench_server_start(const Config& cfg) {
  progress("server start (spawn to initialize result)");
  std::vector<double> spawn_to_init;
  const int reps = cfg.quick ? 3 : 10;
  for (int i = 0; i < reps; ++i) {
    Server s(cfg.server, {"--pool-size", "0"}, cfg.stderr_path);
    s.initialize();
    spawn_to_init.push_back(ms_since(s.spawned(), Clock::now()));
    s.shutdown();
  }
  return Json{{"spawnToInitializeMs", stats(spawn_to_init)},
              {"note", "process spawn + Py_Initialize + initialize round trip, pool 0; paid once per editor, not per session"}};
}

// session/open params for session `id`, plus `extra` (e.g. the isolation).
Json open_params(const std::string& id, const Json& extra) {
  Json params = extra.is_object() ? extra : Json::object();
  params["session"] = id;
  return params;
}

// session/open + cell/run 1+1, each on a fresh id; the session is closed
// (untimed) before the next one. `extra` goes into session/open's params.
Json session_start_loop(Server& s, const std::string& prefix, int reps, std::chrono::milliseconds gap,
                        const Json& extra = Json::object()) {
  std::vector<double> total, open, first_cell;
  int pooled = 0;
  for (int i = 0; i < reps; ++i) {
    std::this_thread::sleep_for(gap);
    const std::string id = std::string(prefix).append(std::to_string(i));
    const auto t0 = Clock::now();
    Json opened = s.result("session/open", open_params(id, extra));
    const auto t1 = Clock::now();
    s.run(id, "1+1");
    const auto t2 = Clock::now();
    total.push_back(ms_since(t0, t2));
    open.push_back(ms_since(t0, t1));
    first_cell.push_back(ms_since(t1, t2));
    if (opened.value("pooled", false)) ++pooled;
    s.result("session/close", Json{{"session", id}});
  }
  return Json{{"totalMs", stats(total)},
              {"openMs", stats(open)},
              {"firstCellMs", stats(first_cell)},
              {"pooled", pooled},
              {"reps", reps},
              {"gapMs", gap.count()}};
}

// How one kind of session starts: cold (no pool: what the session runs in
// is created for the request), then warm (a pool of one that refills in the
// gap before each open).
struct StartCase {
  std::string what;  // for the progress lines
  std::vector<std::string> cold_args, warm_args;
  Json warm_pool_size;  // as reported
  Json open_extra;      // session/open params
  std::chrono::milliseconds cold_gap;  // lets the closed session end first
};

Json cold_and_warm_start(const Config& cfg, const StartCase& c, Json* info) {
  Json out;
  {
    progress("session start, " + c.what + ", no pool (cold: created for the request)");
    Server s(cfg.server, c.cold_args, cfg.stderr_path);
    Json init = s.initialize();
    if (info != nullptr) *info = init;
    out["cold"] = session_start_loop(s, c.what.substr(0, 1) + "c", cfg.start_reps, c.cold_gap, c.open_extra);
    out["cold"]["poolSize"] = 0;
    s.shutdown();
  }
  const double cold_ms = out["cold"]["totalMs"]["p90"].get<double>();
  {
    // The gap lets the pool refill (one cold start) and the previous
    // session end before the next request.
    const auto gap = std::chrono::milliseconds(cfg.warm_gap_ms > 0 ? cfg.warm_gap_ms : static_cast<int>(3 * cold_ms) + 30);
    progress("session start, " + c.what + ", pool of one (warm: ready before the request)");
    Server s(cfg.server, c.warm_args, cfg.stderr_path);
    s.initialize();
    out["warm"] = session_start_loop(s, c.what.substr(0, 1) + "w", cfg.start_reps, gap, c.open_extra);
    out["warm"]["poolSize"] = c.warm_pool_size;
    s.shutdown();
  }
  return out;
}

Json bench_session_start(const Config& cfg, Json& info) {
  return cold_and_warm_start(cfg,
                             StartCase{"interpreter", {"--pool-size", "0"}, {}, "default (1)", Json::object(),
                                       std::chrono::milliseconds(30)},
                             &info);
}

// A process session: a worker process of its own, its main interpreter.
// The cold start spawns `subcell worker` for the request; the warm one
// takes a started worker from --process-pool-size 1.
Json bench_process_session_start(const Config& cfg) {
  return cold_and_warm_start(cfg,
                             StartCase{"process", {"--process-pool-size", "0"}, {"--process-pool-size", "1"}, 1,
                                       Json{{"isolation", "process"}}, std::chrono::milliseconds(100)},
                             nullptr);
}

// `n` cells of 1+1, one at a time, each timed at the client from request
// to response (us); the cell's own durationMs (us) goes to `server_us`.
std::vector<double> time_round_trips(Server& s, const std::string& session, int n, std::vector<double>* server_us) {
  const Json params{{"session", session}, {"code", "1+1"}};
  std::vector<double> rt;
  rt.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    Json r = s.wait(s.send("cell/run", params));
    rt.push_back(us_since(t0, Clock::now()));
    const Json& res = r.at("result");
    if (!res["error"].is_null() || res["value"]["text/plain"] != "2") throw ProtocolError("1+1 gave " + r.dump());
    if (server_us != nullptr) server_us->push_back(res["durationMs"].get<double>() * 1000.0);
  }
  return rt;
}

Json bench_round_trip(const Config& cfg) {
  progress("cell round trip (1+1 over stdio, " + std::to_string(cfg.rt_cells) + " cells)");
  Server s(cfg.server, {}, cfg.stderr_path);
  s.initialize();
  s.result("session/open", Json{{"session", "rt"}});
  const Json params{{"session", "rt"}, {"code", "1+1"}};
  for (int i = 0; i < cfg.rt_warmup; ++i) s.run("rt", "1+1");

  std::vector<double> server_duration;
  const double client_cpu0 = self_cpu_s();
  const double server_cpu0 = proc_cpu_s(s.pid());
  const auto threads0 = thread_cpu_ns(s.pid());
  const auto wall0 = Clock::now();
  const std::vector<double> rt = time_round_trips(s, "rt", cfg.rt_cells, &server_duration);
  const double wall = ms_since(wall0, Clock::now()) / 1000.0;
  const double client_cpu = self_cpu_s() - client_cpu0;
  const double server_cpu = proc_cpu_s(s.pid()) - server_cpu0;
  const Json threads = thread_cpu_delta(threads0, thread_cpu_ns(s.pid()), s.pid(), cfg.rt_cells);
  double thread_sum = 0;  // schedstat is in ns: precise even over few cells
  for (const auto& t : threads) thread_sum += t["usPer"].get<double>();

  // Transport + dispatch only: a request the loop thread answers itself.
  std::vector<double> list_rt;
  for (int i = 0; i < cfg.list_calls; ++i) {
    const auto t0 = Clock::now();
    s.result("session/list", Json::object());
    list_rt.push_back(us_since(t0, Clock::now()));
  }

  // Pipelined: every cell sent at once, then all replies collected.
  std::vector<std::int64_t> ids;
  ids.reserve(cfg.pipelined_cells);
  const auto p0 = Clock::now();
  for (int i = 0; i < cfg.pipelined_cells; ++i) ids.push_back(s.send("cell/run", params));
  for (auto id : ids) s.wait(id);
  const double pipelined_s = ms_since(p0, Clock::now()) / 1000.0;
  s.shutdown();

  const double n = cfg.rt_cells;
  return Json{{"cells", cfg.rt_cells},
              {"roundTripUs", stats(rt)},
              {"serverDurationUs", stats(server_duration)},
              {"clientCpuUsPerCell", client_cpu / n * 1e6},
              {"serverCpuUsPerCell", thread_sum},
              {"serverCpuUsPerCellFromStat", server_cpu / n * 1e6},
              {"serverThreadCpuUsPerCell", threads},
              {"wallUsPerCell", wall / n * 1e6},
              {"sessionListRoundTripUs", stats(list_rt)},
              {"pipelinedCellsPerS", cfg.pipelined_cells / pipelined_s}};
}

// The same round trip with the client and every server thread on CPU 0:
// separates the cost of waking threads on another (virtual) CPU from the
// work itself.
// Pins the calling thread, and so every server it spawns meanwhile, to CPU 0.
class PinnedToCpu0 {
 public:
  PinnedToCpu0() {
    sched_getaffinity(0, sizeof saved_, &saved_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);
  }
  ~PinnedToCpu0() { sched_setaffinity(0, sizeof saved_, &saved_); }
  PinnedToCpu0(const PinnedToCpu0&) = delete;
  PinnedToCpu0& operator=(const PinnedToCpu0&) = delete;

 private:
  cpu_set_t saved_;
};

Json bench_round_trip_one_cpu(const Config& cfg) {
  const int n = cfg.quick ? 100 : 2000;
  progress("cell round trip pinned to CPU 0 (" + std::to_string(n) + " cells)");
  std::vector<double> rt;
  {
    PinnedToCpu0 pin;
    Server s(cfg.server, {}, cfg.stderr_path);
    s.initialize();
    s.result("session/open", Json{{"session", "rt"}});
    for (int i = 0; i < cfg.rt_warmup; ++i) s.run("rt", "1+1");
    rt = time_round_trips(s, "rt", n, nullptr);
    s.shutdown();
  }
  return Json{{"cells", n}, {"roundTripUs", stats(rt)}};
}

// The same 1+1 in a process session: client -> server -> worker and back,
// one more pipe hop each way than an interpreter session.
Json bench_process_round_trip(const Config& cfg) {
  progress("cell round trip in a process session (" + std::to_string(cfg.rt_cells) + " cells)");
  Server s(cfg.server, {}, cfg.stderr_path);
  s.initialize();
  const Json opened = s.result("session/open", Json{{"session", "prt"}, {"isolation", "process"}});
  const pid_t worker = opened.at("pid").get<pid_t>();
  for (int i = 0; i < cfg.rt_warmup; ++i) s.run("prt", "1+1");
  std::vector<double> server_duration;
  const double client0 = self_cpu_s(), server0 = process_cpu_ns(s.pid()), worker0 = process_cpu_ns(worker);
  const std::vector<double> rt = time_round_trips(s, "prt", cfg.rt_cells, &server_duration);
  const double n = cfg.rt_cells;
  Json out{{"cells", cfg.rt_cells},
           {"isolation", opened.value("isolation", "")},
           {"workerIsNotServer", worker != s.pid()},
           {"roundTripUs", stats(rt)},
           {"serverDurationUs", stats(server_duration)},
           {"clientCpuUsPerCell", (self_cpu_s() - client0) / n * 1e6},
           {"serverCpuUsPerCell", (process_cpu_ns(s.pid()) - server0) / n / 1e3},
           {"workerCpuUsPerCell", (process_cpu_ns(worker) - worker0) / n / 1e3}};
  // Closed before shutdown, as an editor does. (At the time of writing, a
  // server shut down with a worker's session still open never exits.)
  s.result("session/close", Json{{"session", "prt"}});
  s.shutdown();
  return out;
}

Json bench_reset(const Config& cfg, int reps) {
  std::ostringstream what;
  what << "reset (" << cfg.reset_names << " names, " << reps << " times)";
  progress(what.str());
  Server s(cfg.server, {}, cfg.stderr_path);
  s.initialize();
  s.result("session/open", Json{{"session", "rs"}});
  const std::string fill = reset_fill_cell(cfg.reset_names);
  std::vector<double> reset_us, reset_then_cell_us, server_us, removed;
  for (int i = 0; i < reps + 5; ++i) {
    s.run("rs", fill);
    const auto t0 = Clock::now();
    Json r = s.result("session/reset", Json{{"session", "rs"}});
    const auto t1 = Clock::now();
    s.run("rs", "1+1");
    const auto t2 = Clock::now();
    if (i < 5) continue;  // warm-up
    reset_us.push_back(us_since(t0, t1));
    reset_then_cell_us.push_back(us_since(t0, t2));
    server_us.push_back(r["durationMs"].get<double>() * 1000.0);
    removed.push_back(r["removedNames"].get<double>());
  }
  s.shutdown();
  return Json{{"names", cfg.reset_names},
              {"resetUs", stats(reset_us)},
              {"resetThenCellUs", stats(reset_then_cell_us)},
              {"serverDurationUs", stats(server_us)},
              {"removedNames", stats(removed)}};
}

// Closes sessions, all requests sent at once.
void close_sessions(Server& s, const std::vector<std::string>& ids) {
  std::vector<std::int64_t> reqs;
  for (const auto& id : ids) reqs.push_back(s.send("session/close", Json{{"session", id}}));
  for (auto r : reqs) s.wait(r);
}

// Memory added per idle session that ran cfg.mem_cell: the difference
// between 1 and 1+n open sessions, /n. `of` says which processes count
// (the server alone, or the server and its workers); `settle` lets pools
// refill before each snapshot.
Json memory_per_session(const Config& cfg, int n, const Json& open_extra,
                        const std::function<std::vector<pid_t>(pid_t)>& of, std::chrono::milliseconds settle) {
  Server s(cfg.server, {}, cfg.stderr_path);
  s.initialize();
  std::vector<std::string> ids;
  auto open_one = [&] {
    ids.push_back(std::string("m").append(std::to_string(ids.size())));
    s.result("session/open", open_params(ids.back(), open_extra));
    s.run(ids.back(), cfg.mem_cell);
  };
  // One session first, so that what every process pays once (the first
  // import of each extension module's shared library, ...) is in the base.
  open_one();
  std::this_thread::sleep_for(settle);  // the pool refills
  const Json before = memory_of(of(s.pid()));
  for (int i = 0; i < n; ++i) open_one();
  std::this_thread::sleep_for(settle);
  const Json after = memory_of(of(s.pid()));
  close_sessions(s, ids);
  s.shutdown();
  auto per = [&](const char* key) { return (after[key].get<double>() - before[key].get<double>()) / n / 1024.0; };
  return Json{{"sessions", n},
              {"cell", cfg.mem_cell},
              {"before", before},
              {"after", after},
              {"rssMbPerSession", per("rssKb")},
              {"pssMbPerSession", per("pssKb")},
              {"privateMbPerSession", per("privateKb")}};
}

Json bench_memory(const Config& cfg) {
  progress("memory (" + std::to_string(cfg.mem_sessions) + " idle sessions after `" + cfg.mem_cell + "`)");
  Json out = memory_per_session(
      cfg, cfg.mem_sessions, Json::object(), [](pid_t server) { return std::vector<pid_t>{server}; },
      std::chrono::milliseconds(500));
  out["note"] = "the server process: difference between 1 and 1+N open sessions "
                "(plus the one warm pool interpreter both times), /N";
  return out;
}

// Process sessions: each is a worker process, so the server and all its
// workers count (PSS divides what they share, libpython's pages above all).
Json bench_process_memory(const Config& cfg) {
  const int n = cfg.process_mem_sessions;
  progress("memory (" + std::to_string(n) + " idle process sessions after `" + cfg.mem_cell + "`)");
  Json out = memory_per_session(cfg, n, Json{{"isolation", "process"}}, with_children, std::chrono::milliseconds(1000));
  out["note"] = "the server and its worker processes: difference between 1 and 1+N open process sessions "
                "(plus the one warm pool worker both times), /N";
  return out;
}

Json bench_parallel(const Config& cfg) {
  progress("parallel sessions (CPU-bound cell)");
  Json out = Json::object();
  out["cell"] = cfg.cpu_cell;
  out["cellsPerSession"] = cfg.parallel_cells;
  double base = 0;
  for (int n : cfg.parallel_n) {
    Server s(cfg.server, {"--pool-size", "0"}, cfg.stderr_path);
    s.initialize();
    std::vector<std::string> ids;
    for (int k = 0; k < n; ++k) {
      ids.push_back(std::string("p").append(std::to_string(k)));
      s.result("session/open", Json{{"session", ids.back()}});
      s.run(ids.back(), cfg.cpu_cell);  // warm-up
    }
    std::vector<double> throughput, cell_ms;
    for (int rep = 0; rep < cfg.parallel_reps; ++rep) {
      std::vector<std::int64_t> reqs;
      const auto t0 = Clock::now();
      for (int c = 0; c < cfg.parallel_cells; ++c) {
        for (const auto& id : ids) reqs.push_back(s.send("cell/run", Json{{"session", id}, {"code", cfg.cpu_cell}}));
      }
      for (auto r : reqs) {
        Json m = s.wait(r);
        if (!m.contains("result") || !m["result"]["error"].is_null()) throw ProtocolError("parallel cell: " + m.dump());
        cell_ms.push_back(m["result"]["durationMs"].get<double>());
      }
      const double secs = ms_since(t0, Clock::now()) / 1000.0;
      throughput.push_back(n * cfg.parallel_cells / secs);
    }
    s.shutdown();
    const double median = percentile(throughput, 50);
    if (n == cfg.parallel_n.front()) base = median;
    out["byN"][std::to_string(n)] = Json{{"sessions", n},
                                         {"cellsPerS", stats(throughput)},
                                         {"cellMs", stats(cell_ms)},
                                         {"scaling", median / base}};
    progress("  N=" + std::to_string(n) + ": " + std::to_string(median) + " cells/s");
  }
  return out;
}

Json bench_streaming(const Config& cfg, bool long_lines) {
  progress("streaming (" + std::to_string(cfg.stream_lines) + (long_lines ? " 100-byte" : "") + " printed lines)");
  Server s(cfg.server, {}, cfg.stderr_path);
  s.initialize();
  s.result("session/open", Json{{"session", "st"}});
  const std::string code = stream_cell(cfg.stream_lines, long_lines);
  const std::uint64_t expected = stream_bytes(cfg.stream_lines, long_lines);
  std::uint64_t text_bytes = 0, messages = 0;
  s.on_notification = [&](const Json& m) {
    if (m["method"] == "cell/output") {
      ++messages;
      text_bytes += m["params"]["text"].get_ref<const std::string&>().size();
    }
  };
  std::vector<double> secs, mbps, msgs, cell_ms, wire, client_cpu_ms, floor_ms;
  for (int rep = 0; rep < cfg.stream_reps + 1; ++rep) {
    text_bytes = messages = 0;
    const std::uint64_t wire0 = s.body_bytes_received;
    const double cpu0 = self_cpu_s();
    const auto t0 = Clock::now();
    Json r = s.run("st", code);
    const double t = ms_since(t0, Clock::now()) / 1000.0;
    if (text_bytes != expected) {
      throw ProtocolError("streaming: got " + std::to_string(text_bytes) + " bytes, expected " + std::to_string(expected));
    }
    if (rep == 0) continue;  // warm-up
    secs.push_back(t * 1000.0);
    mbps.push_back(static_cast<double>(text_bytes) / t / 1e6);
    msgs.push_back(static_cast<double>(messages));
    cell_ms.push_back(r["durationMs"].get<double>());
    wire.push_back(static_cast<double>(s.body_bytes_received - wire0));
    client_cpu_ms.push_back((self_cpu_s() - cpu0) * 1000.0);
    Json floor = s.run("st", stream_floor_cell(cfg.stream_lines, long_lines));
    floor_ms.push_back(std::stod(floor["value"]["text/plain"].get<std::string>()));
  }
  s.shutdown();
  return Json{{"lines", cfg.stream_lines},
              {"lineBytes", long_lines ? Json(kLongLine) : Json("short")},
              {"textBytes", expected},
              {"timeMs", stats(secs)},
              {"mbPerS", stats(mbps)},
              {"messages", stats(msgs)},
              {"wireBodyBytes", stats(wire)},
              {"cellDurationMs", stats(cell_ms)},
              {"clientCpuMs", stats(client_cpu_ms)},
              {"printToNullSinkMs", stats(floor_ms)}};
}

Json bench_many_sessions(const Config& cfg) {
  const int n = cfg.many_sessions;
  progress("many sessions (" + std::to_string(n) + ": open all, run a cell in each, close all)");
  Server s(cfg.server, {}, cfg.stderr_path);
  s.initialize();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const Json base = memory_snapshot(s.pid());
  RssSampler sampler(s.pid());
  int failures = 0;
  std::vector<std::string> errors;
  auto note_failure = [&](const Json& m) {
    ++failures;
    if (errors.size() < 5) errors.push_back(m.dump().substr(0, 300));
  };
  auto phase = [&](auto make_request, auto check) {
    std::vector<std::int64_t> ids;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) ids.push_back(make_request(i));
    for (auto id : ids) {
      Json m = s.wait(id);
      if (!m.contains("result") || !check(m["result"])) note_failure(m);
    }
    return ms_since(t0, Clock::now());
  };
  auto sid = [](int i) { return std::string("many").append(std::to_string(i)); };
  const auto t0 = Clock::now();
  const double open_ms = phase([&](int i) { return s.send("session/open", Json{{"session", sid(i)}}); },
                               [](const Json&) { return true; });
  const double run_ms = phase(
      [&](int i) {
        return s.send("cell/run", Json{{"session", sid(i)}, {"code", "import json\nlen(json.dumps(list(range(100))))"}});
      },
      [](const Json& r) { return r["error"].is_null() && r["value"]["text/plain"] == "390"; });
  const Json all_open = memory_snapshot(s.pid());
  Json listed = s.result("session/list", Json::object());
  const double close_ms = phase([&](int i) { return s.send("session/close", Json{{"session", sid(i)}}); },
                                [](const Json& r) { return r["interpreter"] == "ended"; });
  const double total_ms = ms_since(t0, Clock::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sampler.stop();
  const Json after_close = memory_snapshot(s.pid());
  s.shutdown();
  return Json{{"sessions", n},
              {"openMs", open_ms},
              {"runMs", run_ms},
              {"closeMs", close_ms},
              {"totalMs", total_ms},
              {"listedWhileOpen", listed["sessions"].size()},
              {"failures", failures},
              {"errors", errors},
              {"base", base},
              {"allOpen", all_open},
              {"afterClose", after_close},
              {"peakRssKbSampled", sampler.peak_kb()},
              {"rssSamples", sampler.samples()},
              {"peakRssMb", std::max(sampler.peak_kb(), after_close["hwmKb"].get<long>()) / 1024.0},
              {"note", "each phase pipelined: all N requests sent, then all replies read"}};
}

// Least-squares slope of y over x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  if (x.size() < 2) return NAN;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxy / sxx;
}

// Total RSS of a server and its workers against a count of cycles.
class RssCurve {
 public:
  void sample(int cycle, pid_t server) {
    const std::vector<pid_t> pids = with_children(server);
    long kb = 0;
    for (pid_t p : pids) kb += rss_kb_fast(p);
    cycles_.push_back(cycle);
    mb_.push_back(kb / 1024.0);
    points_.push_back(Json{{"cycle", cycle}, {"rssMb", std::round(kb / 102.4) / 10}, {"processes", pids.size()}});
  }
  Json summary() const {
    const int span = static_cast<int>(cycles_.back() - cycles_.front());
    return Json{{"points", points_},
                {"startMb", mb_.front()},
                {"endMb", mb_.back()},
                {"peakMb", *std::max_element(mb_.begin(), mb_.end())},
                {"growthMbPerCycle", slope(cycles_, mb_)},  // least squares over every sample
                {"endMinusStartMbPerCycle", span > 0 ? (mb_.back() - mb_.front()) / span : 0.0}};
  }

 private:
  std::vector<double> cycles_, mb_;
  Json points_ = Json::array();
};

// One churn curve: `cycles` times session/open -> 1+1 -> session/close on
// one server started with `args`, sampled every few cycles. Also counts
// the processes the sessions ran in (session/open's pid): the server
// itself, or one per worker when workers are recycled.
Json churn_curve(const Config& cfg, const std::vector<std::string>& args, int cycles) {
  int every = 1;  // ~40 samples, every 1, 2, 5, 10, 20, 50, ... cycles
  for (int step : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}) {
    if (step * 40 <= cycles) every = step;
  }
  Server s(cfg.server, args, cfg.stderr_path);
  s.initialize();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // pools filled
  RssCurve curve;
  std::set<pid_t> hosts;
  const auto t0 = Clock::now();
  for (int i = 0; i < cycles; ++i) {
    if (i % every == 0) curve.sample(i, s.pid());
    const std::string id = "ch" + std::to_string(i);
    hosts.insert(s.result("session/open", Json{{"session", id}}).at("pid").get<pid_t>());
    s.run(id, "1+1");
    s.result("session/close", Json{{"session", id}});
  }
  curve.sample(cycles, s.pid());
  const double secs = ms_since(t0, Clock::now()) / 1000.0;
  const bool in_server = hosts.count(s.pid()) != 0;
  s.shutdown();
  Json out = curve.summary();
  out.update(Json{{"args", args},
                  {"cycles", cycles},
                  {"sampleEvery", every},
                  {"sessionHosts", hosts.size()},
                  {"sessionsInServerProcess", in_server},
                  {"seconds", secs},
                  {"msPerCycle", secs * 1000.0 / cycles}});
  return out;
}

// CPython leaks what each ended own-GIL interpreter held (gh-110411): in
// the server, memory grows with every session opened and closed; with
// --interpreter-host workers the worker holding the leak is replaced after
// N sessions, so the total stays bounded.
Json bench_churn(const Config& cfg) {
  Json out;
  progress("churn: " + std::to_string(cfg.churn_cycles_in_server) + " open/1+1/close cycles, sessions in the server");
  out["inServer"] = churn_curve(cfg, {}, cfg.churn_cycles_in_server);
  const std::string recycle = std::to_string(cfg.churn_recycle_after);
  progress("churn: " + std::to_string(cfg.churn_cycles_in_workers) +
           " cycles, sessions in recycled workers (--recycle-after-sessions " + recycle + ")");
  out["inWorkers"] = churn_curve(cfg, {"--interpreter-host", "workers", "--recycle-after-sessions", recycle},
                                 cfg.churn_cycles_in_workers);
  out["recycleAfterSessions"] = cfg.churn_recycle_after;
  return out;
}

#include "channels_bench.inc"

int usage() {
  std::cerr << "usage: subcell_bench --server PATH [--quick] [--only SECTION,...] [--server-stderr FILE]\n"
               "                     [--sessions N (many_sessions)] [--warm-gap-ms MS (session_start)]\n"
               "sections: server_start session_start round_trip reset memory parallel streaming many_sessions churn channels\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Config cfg;
  cfg.cpu_cell = kCpuCell;
  int sessions_override = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--server") {
      cfg.server = next();
    } else if (a == "--quick") {
      cfg.quick = true;
    } else if (a == "--only") {
      std::stringstream list(next());
      for (std::string item; std::getline(list, item, ',');) cfg.only.insert(item);
    } else if (a == "--server-stderr") {
      cfg.stderr_path = next();
    } else if (a == "--warm-gap-ms") {
      cfg.warm_gap_ms = std::stoi(next());
    } else if (a == "--sessions") {
      sessions_override = std::stoi(next());
    } else {
      return usage();
    }
  }
  if (cfg.server.empty()) return usage();
  if (cfg.stderr_path != "/dev/null") {
    std::ofstream truncate(cfg.stderr_path, std::ios::trunc);  // each server appends its log
  }

  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  cfg.parallel_n = {1, 2, cores};
  if (cfg.quick) {
    cfg.start_reps = 5;
    cfg.rt_cells = 200;
    cfg.rt_warmup = 20;
    cfg.list_calls = 100;
    cfg.pipelined_cells = 200;
    cfg.reset_reps = 20;
    cfg.mem_sessions = 10;
    cfg.parallel_cells = 2;
    cfg.parallel_reps = 1;
    cfg.stream_lines = 20000;
    cfg.stream_reps = 1;
    cfg.many_sessions = 20;
    cfg.process_mem_sessions = 3;
    cfg.churn_cycles_in_server = 300;
    cfg.churn_cycles_in_workers = 2 * cfg.churn_recycle_after;  // two whole recycling periods
  }
  if (sessions_override > 0) cfg.many_sessions = sessions_override;
  std::sort(cfg.parallel_n.begin(), cfg.parallel_n.end());
  cfg.parallel_n.erase(std::unique(cfg.parallel_n.begin(), cfg.parallel_n.end()), cfg.parallel_n.end());

  Json out;
  std::vector<std::string> failures;
  out["mode"] = cfg.quick ? "quick" : "full";
  out["server"] = cfg.server;
  try {
    Json info;
    // Each section records when it ran (CLOCK_MONOTONIC seconds, the clock
    // of Python's time.monotonic()), so that the driver can tell how much
    // other work shared the machine meanwhile.
    auto timed = [&](const char* key, auto&& fn) {
      const double t0 = monotonic_s();
      try {
        out[key] = fn();
      } catch (const std::exception& e) {  // reported; the other sections still run
        std::cerr << "subcell_bench: " << key << ": " << e.what() << std::endl;
        out[key] = Json{{"failure", e.what()}};
        failures.push_back(key);
      }
      out[key]["window"] = Json::array({t0, monotonic_s()});
    };
    if (cfg.wants("server_start")) timed("serverStart", [&] { return bench_server_start(cfg); });
    if (cfg.wants("session_start")) {
      timed("sessionStart", [&] { return bench_session_start(cfg, info); });
      timed("processSessionStart", [&] { return bench_process_session_start(cfg); });
    }
    if (info.is_null()) {
      Server s(cfg.server, {"--pool-size", "0"}, cfg.stderr_path);
      info = s.initialize();
      s.shutdown();
    }
    out["initialize"] = info;
    if (cfg.wants("round_trip")) {
      timed("roundTrip", [&] { return bench_round_trip(cfg); });
      if (std::thread::hardware_concurrency() > 1) timed("roundTripOneCpu", [&] { return bench_round_trip_one_cpu(cfg); });
      timed("processRoundTrip", [&] { return bench_process_round_trip(cfg); });
    }
    if (cfg.wants("reset")) {
      timed("reset", [&] { return bench_reset(cfg, cfg.reset_reps); });
      if (std::thread::hardware_concurrency() > 1) {
        timed("resetOneCpu", [&] {
          PinnedToCpu0 pin;
          progress("  the same pinned to CPU 0");
          return bench_reset(cfg, cfg.reset_reps / 2);
        });
      }
    }
    if (cfg.wants("memory")) {
      timed("memory", [&] { return bench_memory(cfg); });
      timed("processMemory", [&] { return bench_process_memory(cfg); });
    }
    if (cfg.wants("parallel")) timed("parallel", [&] { return bench_parallel(cfg); });
    if (cfg.wants("streaming")) {
      timed("streaming", [&] { return bench_streaming(cfg, false); });
      timed("streamingLong", [&] { return bench_streaming(cfg, true); });
    }
    if (cfg.wants("many_sessions")) timed("manySessions", [&] { return bench_many_sessions(cfg); });
    if (cfg.wants("churn")) timed("churn", [&] { return bench_churn(cfg); });
    if (cfg.wants("channels")) timed("channels", [&] { return bench_channels(cfg); });
  } catch (const std::exception& e) {
    out["failure"] = e.what();
    std::cout << out.dump(2) << std::endl;
    std::cerr << "subcell_bench: " << e.what() << std::endl;
    return 1;
  }
  if (!failures.empty()) out["failure"] = "sections failed: " + Json(failures).dump();
  std::cout << out.dump(2) << std::endl;
  return failures.empty() ? 0 : 1;
}
