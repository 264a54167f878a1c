// WorkerSupervisor: owns the `subcell worker` processes of one server.
//
// Three kinds of worker pass through it: a warm pool of process workers
// (each will host one session in its main interpreter), the worker that
// hosts interpreter sessions when they are placed outside the server
// process (mod_wsgi's daemon process), and workers on their way out. The
// host is recycled: after `recycle_after_sessions` closed sessions or once
// it has grown by `recycle_after_mb` it is retired (no new sessions; it is
// stopped when its last session closes) and a fresh host takes over,
// mod_wsgi's maximum-requests and memory-limit against CPython's
// per-interpreter leak (gh-110411).
//
// Sessions are not its business: the owner tells it when a worker gains or
// loses one. Workers are destroyed only between loop iterations, never
// inside their own callbacks. Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rpc/json.h"
#include "support/result.h"
#include "support/uv_handle.h"
#include "workers/worker.h"

namespace subcell {

struct SupervisorOptions {
  std::string binary;                 // this executable
  std::size_t process_pool_size = 1;  // process workers kept started and warm
  rpc::Json process_init = rpc::Json::object();       // their initializationOptions
  rpc::Json interpreters_init = rpc::Json::object();  // the interpreter host's
  rpc::Json client_capabilities = rpc::Json::object();  // passed on to every worker
  std::size_t recycle_after_sessions = 500;  // 0: never
  std::size_t recycle_after_mb = 1024;       // 0: never
};

class WorkerSupervisor {
 public:
  WorkerSupervisor(uv_loop_t* loop, WorkerListener& listener);
  ~WorkerSupervisor();
  WorkerSupervisor(const WorkerSupervisor&) = delete;
  WorkerSupervisor& operator=(const WorkerSupervisor&) = delete;

  // Applies new options; the pool is (re)filled.
  void configure(SupervisorOptions options);
  const SupervisorOptions& options() const { return options_; }

  // A process worker for a new session: the oldest warm one (`warm` set),
  // or a new one whose start the caller's requests will wait for.
  Result<Worker*> take_process_worker(bool& warm);
  // A new process worker for another Python: `binary` is the worker built
  // for its version (subcell-py3.N, or this one), `python` its interpreter.
  Result<Worker*> start_process_worker(const std::string& binary, const std::string& python);
  // The worker new interpreter sessions go to, started if need be.
  Result<Worker*> interpreter_host();
  // Starts process workers until the pool is full.
  void refill_pool();

  // The owner's bookkeeping.
  void session_added(Worker& worker);
  // A session of `worker` ended. A process worker is stopped; a host counts
  // it toward recycling, and a retired host with no session left is stopped.
  void session_removed(Worker& worker);

  // From the owner's on_worker_exit: the worker is destroyed soon after.
  void forget(Worker& worker);

  // Stops every worker (shutdown, then a kill after `grace_ms`).
  void stop_all(std::uint64_t grace_ms);
  bool empty() const { return workers_.empty(); }
  std::vector<Worker*> workers() const;
  // Resident memory of every live worker, in bytes.
  std::size_t resident_bytes() const;
  // How many hosts have been retired so far (recycling).
  std::size_t retired_hosts() const { return retired_hosts_; }

 private:
  struct Book {
    int sessions = 0;
    std::size_t closed = 0;
    std::size_t baseline_bytes = 0;  // resident size when it took its first session
    bool retiring = false;
  };
  Result<Worker*> start(WorkerKind kind, const std::string& binary = {}, const std::string& python = {});
  void retire(Worker& worker);
  bool due_for_recycling(Worker& worker, const Book& book) const;

  uv_loop_t* loop_;
  WorkerListener& listener_;
  SupervisorOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unordered_map<std::uint64_t, Book> books_;  // by Worker::serial
  std::deque<Worker*> pool_;                       // idle process workers, oldest first
  Worker* host_ = nullptr;
  int start_failures_ = 0;
  std::size_t retired_hosts_ = 0;
  std::vector<std::unique_ptr<Worker>> graveyard_;  // destroyed on the next loop turn
  UvHandle<uv_timer_t> reaper_;
};

}  // namespace subcell
