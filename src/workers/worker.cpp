#include "workers/worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>

#include "rpc/message.h"
#include "support/log.h"
#include "support/protected_fds.h"

namespace subcell {
namespace {

constexpr std::size_t kStderrTailLines = 40;
constexpr std::size_t kStderrTailBytes = 8 * 1024;
// After the child exits, how long its last stderr bytes may take to arrive.
constexpr std::uint64_t kStderrDrainMs = 200;

std::atomic<std::uint64_t> g_next_serial{1};

std::string uv_message(int code) { return std::string(uv_err_name(code)) + ": " + uv_strerror(code); }

Worker* from(uv_handle_t* h) { return static_cast<Worker*>(h->data); }

// The method of a notification our own server wrote ({"jsonrpc":"2.0",
// "method":"...), found without parsing the body: output is the hot path.
std::string_view sniff_method(std::string_view body) {
  constexpr std::string_view head = R"({"jsonrpc":"2.0","method":")";
  if (body.substr(0, head.size()) != head) return {};
  const std::size_t end = body.find('"', head.size());
  return end == std::string_view::npos ? std::string_view{} : body.substr(head.size(), end - head.size());
}

}  // namespace

std::string WorkerExit::describe() const {
  if (term_signal != 0) {
    const char* abbrev = sigabbrev_np(term_signal);
    return std::string("killed by SIG") + (abbrev != nullptr ? abbrev : std::to_string(term_signal)) + " (" +
           strsignal(term_signal) + ")";
  }
  return "exited with status " + std::to_string(exit_status);
}

Worker::Worker(uv_loop_t* loop, WorkerKind kind, WorkerListener& listener)
    : serial(g_next_serial.fetch_add(1)), loop_(loop), kind_(kind), listener_(listener) {}

Result<std::unique_ptr<Worker>> Worker::spawn(uv_loop_t* loop, const WorkerOptions& options,
                                              rpc::Json initialization_options, WorkerListener& listener) {
  std::unique_ptr<Worker> worker(new Worker(loop, options.kind, listener));
  if (Status s = worker->start(options); !s) return s.error();
  worker->initialize_id_ = worker->request(
      "initialize", rpc::Json{{"processId", ::getpid()},
                              {"clientInfo", {{"name", "subcell-server"}}},
                              {"capabilities", options.capabilities},
                              {"initializationOptions", std::move(initialization_options)}});
  return worker;
}

Status Worker::start(const WorkerOptions& options) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Error{0, std::string("socketpair: ") + std::strerror(errno)};
  }
  // Our end lives with the server's own descriptors: high, and guarded.
  const int ours = ::fcntl(sv[0], F_DUPFD_CLOEXEC, protected_fds::floor());
  ::close(sv[0]);
  const int theirs = sv[1];

  uv_pipe_init(loop_, stderr_pipe_.get(), 0);
  stderr_pipe_.mark_initialized();
  stderr_pipe_.get()->data = this;

  std::vector<std::string> args{options.binary, "worker", "--fd", "3",
                                options.kind == WorkerKind::kProcess ? "--process" : "--interpreters",
                                "--parent-pid", std::to_string(::getpid())};
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  uv_stdio_container_t stdio[4];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_IGNORE;  // the worker points fd 1 at its stderr itself
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = stderr_pipe_.stream();
  stdio[3].flags = UV_INHERIT_FD;
  stdio[3].data.fd = theirs;

  uv_process_options_t spawn{};
  spawn.file = options.binary.c_str();
  spawn.args = argv.data();
  spawn.stdio = stdio;
  spawn.stdio_count = 4;
  // Its own session and process group: a terminal's Ctrl+C does not reach
  // it, and kill() can end whatever its cells started along with it.
  spawn.flags = UV_PROCESS_DETACHED;
  spawn.exit_cb = [](uv_process_t* p, int64_t status, int signal) {
    from(reinterpret_cast<uv_handle_t*>(p))->on_exit(status, signal);
  };
  process_.get()->data = this;
  const int rc = uv_spawn(loop_, process_.get(), &spawn);
  ::close(theirs);
  if (rc != 0) {
    ::close(ours);
    return Error{0, "cannot start a worker process (" + options.binary + "): " + uv_message(rc)};
  }
  process_.mark_initialized();
  pid_ = process_.get()->pid;

  uv_read_start(
      stderr_pipe_.stream(),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static thread_local char chunk[16 * 1024];
        *buf = uv_buf_init(chunk, sizeof chunk);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        from(reinterpret_cast<uv_handle_t*>(s))->on_stderr(n, buf);
      });

  uv_timer_init(loop_, timer_.get());
  timer_.mark_initialized();
  timer_.get()->data = this;

  const int out = ::fcntl(ours, F_DUPFD_CLOEXEC, protected_fds::floor());
  uv_os_fd_t stderr_fd = -1;
  uv_fileno(stderr_pipe_.base(), &stderr_fd);
  fds_ = {ours, out, stderr_fd};
  for (int fd : fds_) protected_fds::add(fd);
  transport_ = std::make_unique<StdioTransport>(loop_, ours, out, options.max_message_bytes);
  if (Status s = transport_->start(this); !s) {
    kill(SIGKILL);
    return Error{0, "cannot talk to the worker: " + s.error().message};
  }
  return Ok{};
}

Worker::~Worker() {
  if (!exited_ && pid_ > 0) kill(SIGKILL);
  if (transport_) transport_->close();
  for (int fd : fds_) protected_fds::remove(fd);
}

std::int64_t Worker::request(std::string_view method, rpc::Json params) {
  if (gone() || connection_closed_) return 0;
  const std::int64_t id = next_id_++;
  transport_->send(rpc::dump(rpc::Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}));
  return id;
}

void Worker::notify(std::string_view method, rpc::Json params) {
  if (exit_reported_ || connection_closed_) return;
  transport_->send(rpc::dump(rpc::make_notification(method, std::move(params))));
}

void Worker::respond(const rpc::Json& id, Result<rpc::Json> result) {
  if (exit_reported_ || connection_closed_) return;
  transport_->send(rpc::dump(result ? rpc::make_result(id, std::move(result).value())
                                    : rpc::make_error(id, result.error().code, result.error().message)));
}

void Worker::stop(std::uint64_t grace_ms) {
  if (exiting_ || exited_) return;
  // `exit` follows once `shutdown` is answered (its sessions are closed).
  shutdown_id_ = request("shutdown", nullptr);
  exiting_ = true;
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        Worker* self = from(reinterpret_cast<uv_handle_t*>(t));
        if (!self->exited_) self->kill(SIGKILL);
      },
      grace_ms, 0);
}

void Worker::kill(int signal) {
  if (pid_ <= 0 || exited_) return;
  // The group first (the child made it with setsid), the child itself in
  // case it has left it.
  ::kill(-pid_, signal);
  ::kill(pid_, signal);
}

std::size_t Worker::resident_bytes() const {
  if (pid_ <= 0 || exited_) return 0;
  std::ifstream statm("/proc/" + std::to_string(pid_) + "/statm");
  std::size_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

void Worker::on_frame(Frame frame) {
  if (frame.kind != Frame::Kind::kBody) {
    log::error("worker " + std::to_string(pid_) + " sent a bad frame; killing it");
    kill(SIGKILL);
    return;
  }
  if (std::string_view method = sniff_method(frame.body); !method.empty()) {
    const std::string name(method);
    listener_.on_worker_notification(*this, name, std::move(frame.body));
    return;
  }
  rpc::Json message = rpc::Json::parse(frame.body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) {
    log::error("worker " + std::to_string(pid_) + " sent a message that is not JSON; killing it");
    kill(SIGKILL);
    return;
  }
  auto method = message.find("method");
  if (method != message.end() && method->is_string()) {
    if (message.contains("id")) {  // a request from the worker, for the server's client
      listener_.on_worker_request(*this, message["id"], method->get<std::string>(), message.value("params", rpc::Json()));
      return;
    }
    listener_.on_worker_notification(*this, method->get<std::string>(), std::move(frame.body));
    return;
  }
  auto id = message.find("id");
  if (id == message.end() || !id->is_number_integer()) return;
  const std::int64_t n = id->get<std::int64_t>();
  if (n == shutdown_id_) {
    notify("exit", nullptr);
    return;
  }
  if (n == initialize_id_) {
    ready_ = !message.contains("error");
    if (!ready_) log::error("worker " + std::to_string(pid_) + " failed to initialize: " + rpc::dump(message));
    return;
  }
  listener_.on_worker_response(*this, n, std::move(message));
}

void Worker::on_input_end() {
  connection_closed_ = true;
  maybe_report_exit();
}

void Worker::on_exit(int64_t status, int term_signal) {
  exited_ = true;
  exit_.exit_status = static_cast<int>(status);
  exit_.term_signal = term_signal;
  uv_timer_stop(timer_.get());
  if (!stderr_done_) {
    // Let its last words (a Python fatal error, a faulthandler dump) arrive.
    uv_timer_start(
        timer_.get(),
        [](uv_timer_t* t) {
          Worker* self = from(reinterpret_cast<uv_handle_t*>(t));
          self->stderr_done_ = true;
          self->maybe_report_exit();
        },
        kStderrDrainMs, 0);
  }
  maybe_report_exit();
}

void Worker::on_stderr(ssize_t n, const uv_buf_t* buf) {
  if (n < 0) {
    stderr_done_ = true;
    if (!stderr_partial_.empty()) stderr_lines_.push_back(std::move(stderr_partial_));
    maybe_report_exit();
    return;
  }
  stderr_partial_.append(buf->base, static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (std::size_t nl; (nl = stderr_partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = stderr_partial_.substr(start, nl - start);
    // What the worker's cells and Python write to fd 2 goes where an
    // interpreter session's would: the server's own stderr.
    log::write_raw("[worker " + std::to_string(pid_) + "] " + line + "\n");
    stderr_bytes_ += line.size();
    stderr_lines_.push_back(std::move(line));
    while (stderr_lines_.size() > kStderrTailLines || stderr_bytes_ > kStderrTailBytes) {
      stderr_bytes_ -= stderr_lines_.front().size();
      stderr_lines_.pop_front();
    }
  }
  stderr_partial_.erase(0, start);
}

void Worker::maybe_report_exit() {
  if (exit_reported_ || !exited_ || !stderr_done_) return;
  exit_reported_ = true;
  for (const std::string& line : stderr_lines_) exit_.stderr_tail += line + "\n";
  if (transport_) transport_->close();
  connection_closed_ = true;
  listener_.on_worker_exit(*this, exit_);  // may destroy this
}

}  // namespace subcell
