#include "cli/run_file.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cell_parser.h"
#include "cli/ctrl_c.h"
#include "cli/notebook.h"
#include "cli/parameters.h"
#include "cli/printer.h"
#include "cli/run_output.h"
#include "cli/server_connection.h"
#include "cli/terminal_input.h"
#include "version.h"

namespace subcell {
namespace {

// JSON-RPC error codes this client meets (protocol/README.md).
constexpr int kMethodNotFound = -32601;
constexpr int kRequestCancelled = -32800;
constexpr int kSessionCrashed = -32013;
constexpr int kServerGone = -1;  // not a protocol code: the server exited

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string basename_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The server's error messages name their method; others get it in front.
std::string about(std::string_view method, const std::string& message) {
  const std::string prefix = std::string(method) + ":";
  return message.rfind(prefix, 0) == 0 ? message : prefix + " " + message;
}

bool blank(std::string_view code) { return code.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// The cells of a `# %%` file: markdown and empty cells are not run.
Result<std::vector<RunCell>> read_percent_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{2, "cannot read " + path};
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::vector<RunCell> cells;
  for (SourceCell& cell : parse_cells(buffer.str())) {
    if (cell.markdown || (!cell.reset && !has_code(cell.code))) continue;
    RunCell run;
    run.code = std::move(cell.code);
    run.title = std::move(cell.title);
    run.reset = cell.reset;
    run.parameters = cell.parameters;
    run.file = basename_of(path);
    run.first_line = cell.first_line;
    run.marker_line = cell.marker_line;
    cells.push_back(std::move(run));
  }
  return cells;
}

// One run: the server, the session, the cells and what they produce.
class Run {
 public:
  explicit Run(const RunFileOptions& options)
      : options_(options), file_(basename_of(options.path)), printer_(options.color) {}

  int run();

 private:
  Status load();
  Status start_server();
  Status inject_parameters();
  Status open_session();
  int run_cells();
  void finish_notebook(int& exit_code);

  // Sends a request and waits for its answer, handling everything the
  // server sends meanwhile (output, displays, input requests) and Ctrl+C.
  Result<Json> call(std::string_view method, const Json& params);
  void on_message(const Json& message);
  void on_input_request(const Json& id, const Json& params);
  void answer_input(TerminalInput::Read read, const std::string& line);
  void on_ctrl_c();
  std::optional<std::size_t> cell_of(const Json& params) const;

  const RunFileOptions& options_;
  const std::string file_;
  Printer printer_;
  std::vector<RunCell> cells_;  // final once the session opens
  std::optional<Notebook> notebook_;
  std::optional<RunOutput> output_;
  std::vector<Parameter> parameters_;

  CtrlC ctrl_c_;
  TerminalInput input_;
  std::unique_ptr<ServerConnection> server_;
  Json server_info_;
  std::string session_;
  std::string helper_session_;  // the --param check's session
  std::string helper_stdout_;
  std::optional<std::size_t> running_;  // the cell being run
  std::optional<Json> input_request_;   // the cell/input request being answered
  std::string input_prompt_;
  bool input_password_ = false;
  std::chrono::steady_clock::time_point last_ctrl_c_{};
  bool crashed_ = false;
};

int Run::run() {
  if (Status s = load(); !s) {
    printer_.problem(s.error().message);
    return 2;
  }
  if (Status s = start_server(); !s) {
    printer_.problem(s.error().message);
    return 2;
  }
  if (Status s = inject_parameters(); !s) {
    printer_.problem(s.error().message);
    return 2;
  }
  if (Status s = open_session(); !s) {
    printer_.problem(s.error().message);
    return 2;
  }
  int code = run_cells();
  if (call("shutdown", nullptr)) server_->notify("exit", nullptr);
  server_->finish(5000);
  finish_notebook(code);
  return code;
}

Status Run::load() {
  for (const std::string& p : options_.parameters) {
    auto parsed = parse_parameter(p);
    if (!parsed) return parsed.error();
    parameters_.push_back(std::move(parsed).value());
  }
  if (!ends_with(options_.path, ".ipynb")) {
    if (!options_.output.empty() || options_.inplace) {
      return Error{2, "--output and --inplace write notebooks: run a .ipynb file to use them"};
    }
    auto cells = read_percent_file(options_.path);
    if (!cells) return cells.error();
    cells_ = std::move(cells).value();
    return Ok{};
  }
  auto notebook = Notebook::read(options_.path);
  if (!notebook) return notebook.error();
  notebook_ = std::move(notebook).value();
  notebook_->clear_outputs();
  cells_ = notebook_->code_cells(file_);
  return Ok{};
}

Status Run::start_server() {
  // Signals: Ctrl+C is ours to forward (CtrlC); a server gone shows up
  // as an error from the connection, not as SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  // One run, one session: nothing to keep warm. SUBCELL_RUN_SERVER puts
  // another program in between (the tests' schema-checking proxy).
  const char* server = std::getenv("SUBCELL_RUN_SERVER");
  auto started = ServerConnection::start(server && *server ? server : options_.server_binary,
                                         {"serve", "--pool-size", "0", "--process-pool-size", "0"});
  if (!started) return started.error();
  server_ = std::move(started).value();
  auto initialized = call("initialize", Json{{"processId", ::getpid()},
                                             {"clientInfo", {{"name", "subcell run"}, {"version", kSubcellVersion}}},
                                             {"capabilities", {{"input", true}}}});
  if (!initialized) return Error{2, "the server did not start: " + initialized.error().message};
  server_info_ = std::move(initialized).value();
  server_->notify("initialized", Json::object());
  return Ok{};
}

// The --param values go through Python's own ast.literal_eval, in a
// session of their own so that the run's execution counts start at 1.
Status Run::inject_parameters() {
  if (parameters_.empty()) return Ok{};
  auto opened = call("session/open", Json{{"isolation", "interpreter"}, {"name", "subcell run --param"}});
  if (!opened) return Error{2, "--param: " + opened.error().message};
  helper_session_ = (*opened)["session"].get<std::string>();
  auto ran = call("cell/run", Json{{"session", helper_session_}, {"code", parameters_cell(parameters_)}});
  (void)call("session/close", Json{{"session", helper_session_}});
  const Json answer = Json::parse(helper_stdout_, nullptr, false);
  if (!ran || !answer.is_object() || !answer.contains("source")) {
    const std::string why = answer.is_object() && answer.contains("error") ? answer["error"].get<std::string>()
                            : ran ? "the check failed: " + ran->dump()
                                  : ran.error().message;
    return Error{2, why};
  }
  const std::string source = answer["source"].get<std::string>();
  if (notebook_) {
    notebook_->inject_parameters(source);
    cells_ = notebook_->code_cells(file_);
    return Ok{};
  }
  RunCell injected;
  injected.code = source;
  injected.title = "injected parameters";
  injected.file = file_;
  injected.injected = true;
  auto after = std::find_if(cells_.begin(), cells_.end(), [](const RunCell& c) { return c.parameters; });
  cells_.insert(after == cells_.end() ? cells_.begin() : after + 1, std::move(injected));
  return Ok{};
}

Status Run::open_session() {
  int number = 0;
  for (RunCell& cell : cells_) cell.number = blank(cell.code) && !cell.reset ? 0 : ++number;
  output_.emplace(printer_, options_.path, cells_);

  Json params{{"name", file_}};
  if (!options_.isolation.empty()) params["isolation"] = options_.isolation;
  if (!options_.python.empty()) params["python"] = options_.python;
  if (options_.timeout_seconds) params["limits"] = Json{{"cellTimeoutSeconds", *options_.timeout_seconds}};
  auto opened = call("session/open", params);
  if (!opened) return Error{2, about("session/open", opened.error().message)};
  session_ = (*opened)["session"].get<std::string>();
  if (options_.python.empty()) return Ok{};
  // A server without Python environments ignores the field: say so
  // rather than run the notebook on a Python nobody asked for.
  const auto python = opened->find("python");
  if (python == opened->end() || !python->is_object()) {
    return Error{2, "--python: this server cannot run another Python yet (session/open's `python`); the session "
                    "would run subcell's own CPython " + server_info_["python"].value("version", std::string("?"))};
  }
  const std::string isolation = opened->value("isolation", std::string("interpreter"));
  printer_.note("(Python " + python->value("version", std::string("?")) + ", " +
                python->value("executable", options_.python) + ", in " +
                (isolation == "interpreter" ? "an interpreter" : "a " + isolation) + " session)");
  return Ok{};
}

int Run::run_cells() {
  int failures = 0;
  for (std::size_t i = 0; i < cells_.size() && !crashed_; ++i) {
    const RunCell& cell = cells_[i];
    if (cell.number == 0) continue;
    printer_.header(cell.number, cell);
    if (cell.reset) {
      auto reset = call("session/reset", Json{{"session", session_}});
      if (reset) {
        char ms[32];
        std::snprintf(ms, sizeof ms, "%.3f", reset->value("durationMs", 0.0));
        printer_.note("(session reset: " + std::to_string(reset->value("removedNames", 0)) + " names removed in " + ms +
                      " ms)");
      } else {
        printer_.problem(about("session/reset", reset.error().message));
      }
    }
    if (cell.code.empty()) continue;
    running_ = i;
    auto ran = call("cell/run", Json{{"session", session_}, {"code", cell.code}, {"cell", i}});
    running_.reset();
    if (!ran) {
      // Not a Python error: the session crashed, or the server is gone.
      ++failures;
      crashed_ = crashed_ || ran.error().code == kSessionCrashed || ran.error().code == kServerGone;
      printer_.problem("cell " + std::to_string(cell.number) + ": " + ran.error().message);
      output_->failed(i, ran.error().code == kSessionCrashed ? "SessionCrashed" : "RunFailed", ran.error().message);
      if (!options_.allow_errors || crashed_) break;
      continue;
    }
    if (output_->result(i, *ran)) {
      ++failures;
      if (!options_.allow_errors) break;
    }
  }
  return crashed_ || (failures > 0 && !options_.allow_errors) ? 1 : 0;
}

void Run::finish_notebook(int& exit_code) {
  if (!notebook_ || (options_.output.empty() && !options_.inplace)) return;
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    notebook_->set_outputs(cells_[i].notebook_cell, output_->execution_count(i), output_->outputs(i));
  }
  const std::string target = options_.inplace ? options_.path : options_.output;
  if (Status s = notebook_->write(target); !s) {
    printer_.problem(s.error().message);
    exit_code = 2;
  }
}

Result<Json> Run::call(std::string_view method, const Json& params) {
  const std::int64_t id = server_->request(method, params);
  Json message;
  for (;;) {
    pollfd watch[2] = {{ctrl_c_.fd(), POLLIN, 0}, {input_request_ ? input_.fd() : -1, POLLIN, 0}};
    const auto got = server_->wait(message, watch);
    if (got == ServerConnection::Wait::kClosed) return Error{kServerGone, "the server exited"};
    if (got == ServerConnection::Wait::kWatched) {
      if (watch[0].revents != 0) on_ctrl_c();
      if (watch[1].revents != 0 && input_request_) {
        std::string line;
        answer_input(input_.read(line), line);
      }
      continue;
    }
    if (message.contains("method")) {
      on_message(message);
      continue;
    }
    if (message.value("id", Json()) != Json(id)) continue;  // cell/interrupt's answer: nothing to do
    if (const auto error = message.find("error"); error != message.end()) {
      return Error{error->value("code", 0), error->value("message", std::string("error"))};
    }
    return message.value("result", Json());
  }
}

void Run::on_message(const Json& message) {
  const std::string method = message["method"].get<std::string>();
  const Json params = message.value("params", Json::object());
  if (message.contains("id")) {
    if (method == "cell/input") return on_input_request(message["id"], params);
    return server_->respond_error(message["id"], kMethodNotFound, "subcell run does not answer " + method);
  }
  if (method == "cell/output") {
    const std::string stream = params.value("stream", std::string("stdout"));
    const std::string text = params.value("text", std::string());
    if (!helper_session_.empty() && params.value("session", std::string()) == helper_session_) {
      if (stream == "stdout") helper_stdout_ += text;
      return;
    }
    output_->stream(cell_of(params), stream, text);
  } else if (method == "cell/display") {
    output_->display(cell_of(params), params.value("data", Json::object()), params.value("displayId", std::string()),
                     params.value("update", false));
  } else if (method == "cell/clear") {
    output_->clear(cell_of(params), params.value("wait", false));
  } else if (method == "$/cancelRequest") {
    if (input_request_ && params.value("id", Json()) == *input_request_) {
      input_.end();
      input_request_.reset();
      printer_.prompt("\n");
    }
  } else if (method == "session/crashed") {
    crashed_ = true;
    printer_.problem("the session crashed: " + params.value("message", std::string()));
    const std::string stderr_tail = params.value("stderr", std::string());
    if (!stderr_tail.empty()) printer_.stream("stderr", stderr_tail + (ends_with(stderr_tail, "\n") ? "" : "\n"));
  } else if (method == "session/changed") {
    std::string modules;
    for (const Json& m : params.value("modules", Json::array())) modules += (modules.empty() ? "" : ", ") + m.get<std::string>();
    printer_.note("(the session moved to a " + params.value("isolation", std::string("process")) +
                  (modules.empty() ? "" : " for " + modules) + ")");
  }
}

// The run's cells are numbered by their index; anything else (a cell of
// another client, none) has no cell here.
std::optional<std::size_t> Run::cell_of(const Json& params) const {
  const auto cell = params.find("cell");
  if (cell == params.end() || !cell->is_number_unsigned()) return std::nullopt;
  const auto index = cell->get<std::size_t>();
  return index < cells_.size() ? std::optional<std::size_t>(index) : std::nullopt;
}

void Run::on_input_request(const Json& id, const Json& params) {
  if (input_request_) {
    return server_->respond_error(id, kRequestCancelled, "subcell run is already waiting for an answer");
  }
  input_request_ = id;
  input_prompt_ = params.value("prompt", std::string());
  input_password_ = params.value("password", false);
  // Echo goes off before the prompt shows, so nothing typed after it is echoed.
  input_.begin(input_password_);
  printer_.prompt(input_prompt_);
  std::string line;
  const TerminalInput::Read read = input_.buffered(line);
  if (read != TerminalInput::Read::kWaiting) answer_input(read, line);
}

// End of input answers with an error: the protocol then gives the cell a
// KeyboardInterrupt (input() has no way to raise EOFError from here).
void Run::answer_input(TerminalInput::Read read, const std::string& line) {
  if (read == TerminalInput::Read::kWaiting || !input_request_) return;
  input_.end();
  const Json id = std::move(*input_request_);
  input_request_.reset();
  if (read == TerminalInput::Read::kLine) {
    // A terminal echoed the answer (a password: only its newline); piped
    // input is shown as if typed.
    if (!input_.terminal()) printer_.prompt(input_password_ ? "\n" : line + "\n");
    output_->expect_echo(input_prompt_ + (input_password_ ? "" : line) + "\n");
    return server_->respond(id, Json{{"text", line}});
  }
  printer_.prompt("\n");
  server_->respond_error(id, kRequestCancelled, "no input: standard input is at its end");
}

// Ctrl+C interrupts the running cell; a second one within a second quits.
void Run::on_ctrl_c() {
  const int presses = ctrl_c_.take();
  if (presses == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (presses > 1 || now - last_ctrl_c_ < std::chrono::seconds(1)) {
    input_.end();
    std::fflush(nullptr);
    _exit(130);  // the server sees its input end and leaves by itself
  }
  last_ctrl_c_ = now;
  if (running_) server_->request("cell/interrupt", Json{{"session", session_}});
}

}  // namespace

int run_file(const RunFileOptions& options) {
  Run run(options);
  return run.run();
}

}  // namespace subcell
