// The C++ side of protocol/README.md: decoding request params into typed
// structs (with errors that name the field) and encoding the engine's
// outcomes and events as the protocol's JSON. The only place that knows
// the wire field names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "python/outcome.h"
#include "rpc/json.h"
#include "sessions/session_events.h"
#include "sessions/session_manager.h"
#include "support/result.h"

namespace subcell::protocol {

using rpc::Json;

// ------------------------------------------------------------------ params

// Where a session runs (protocol/README.md, "Isolation").
enum class Isolation {
  kInterpreter,  // an own-GIL subinterpreter (in the server, or a recycled worker)
  kProcess,      // the main interpreter of a worker process of its own
  kAuto,         // an interpreter that moves to a process when a cell needs one
};
const char* isolation_name(Isolation isolation);

struct Limits {
  std::optional<std::int64_t> memory_mb;        // process sessions: the worker's data size
  std::optional<double> cell_timeout_seconds;   // every cell
};

struct InitializeParams {
  std::optional<std::int64_t> pool_size;
  std::optional<std::string> prelude;
  std::optional<Isolation> isolation;                // the default for session/open
  std::optional<std::int64_t> process_pool_size;
  std::optional<bool> interpreters_in_workers;      // "interpreterHost": "workers"
  std::optional<std::int64_t> recycle_after_sessions;
  std::optional<std::int64_t> recycle_after_mb;
  Limits limits;                                     // defaults for session/open
  std::optional<bool> guard;                         // the session guard's default
  bool client_input = false;                         // capabilities.input: it answers cell/input
  std::optional<std::string> python;                 // session/open's default Python
  std::string client;  // "name version", for the log
};

struct SessionOpenParams {
  OpenOptions open;
  std::optional<Isolation> isolation;
  Limits limits;
  std::optional<std::string> python;  // an interpreter's path or an environment's directory
};

struct SessionParams {
  std::string session;
};

struct SessionRestartParams {
  std::string session;
  std::optional<Isolation> isolation;  // keep the session's own when absent
};

struct CellRunParams {
  std::string session;
  std::string code;
  CellTag cell;  // JSON text of the client's id; empty when absent
  bool stop_on_error = false;
};

struct CellInterruptParams {
  std::string session;
  std::optional<CellTag> cell;
};

struct CellCompleteParams {
  std::string session;
  std::string code;
  std::optional<std::size_t> cursor;
};

struct VariablesParams {
  std::string session;
  std::size_t offset = 0;
  std::size_t limit = 200;
};

struct CancelParams {
  Json id;
};

Result<InitializeParams> decode_initialize(const Json& params);
Result<SessionOpenParams> decode_session_open(const Json& params);
// The session/open a worker gets for a session placed in it.
Json encode_open_for_worker(const std::string& id, const SessionOpenParams& params, const Limits& limits);
Result<SessionParams> decode_session(const Json& params, std::string_view method);
Result<SessionRestartParams> decode_session_restart(const Json& params);
Result<CellRunParams> decode_cell_run(const Json& params);
Result<CellInterruptParams> decode_cell_interrupt(const Json& params);
Result<CellCompleteParams> decode_cell_complete(const Json& params, std::string_view method = "cell/complete");
Result<VariablesParams> decode_variables(const Json& params);
Result<CancelParams> decode_cancel(const Json& params);

// ------------------------------------------------------------------ results

Json encode(const RunOutcome& outcome);
Json encode(const ResetOutcome& outcome);
Json encode(const CompleteOutcome& outcome);
Json encode(const VariablesOutcome& outcome);
Json encode(const InspectOutcome& outcome);
Json encode_python(const PythonIdentity& python);
Json encode_opened(const std::string& session, bool pooled, Isolation isolation, int pid, const PythonIdentity& python);
// `fate` overrides what the outcome says ("abandoned", "killed").
Json encode_close(const CloseOutcome& outcome, int cancelled_cells, const char* fate = nullptr);
Json encode(const MimeBundle& bundle);
Json encode(const ErrorInfo& error);
// Sessions of this process; `isolation` is what they are ("interpreter",
// or "process" in a process worker).
Json encode_list(const std::vector<SessionSummary>& sessions, Isolation isolation, int pid);
Json cell_json(const CellTag& tag);

// ------------------------------------------------------------------ notifications
// Whole message bodies, built directly: output is the hot path.

std::string output_notification(const std::string& session, const StreamOutput& out);
std::string started_notification(const std::string& session, const CellRef& cell);
std::string display_notification(const std::string& session, const DisplayOutput& shown);
std::string clear_notification(const std::string& session, const ClearOutput& clear);

struct Crash {
  std::string cause;  // "signal", "exit", "timeLimit", "connection"
  std::string signal;  // "SIGSEGV", when cause is "signal" or "timeLimit"
  std::optional<int> exit_code;
  std::string message;  // what a user reads
  std::string stderr_tail;
};
Json crashed_params(const std::string& session, const Crash& crash);

}  // namespace subcell::protocol
