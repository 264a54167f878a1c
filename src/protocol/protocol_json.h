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

struct InitializeParams {
  std::optional<std::int64_t> pool_size;
  std::optional<std::string> prelude;
  std::string client;  // "name version", for the log
};

struct SessionParams {
  std::string session;
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

struct CancelParams {
  Json id;
};

Result<InitializeParams> decode_initialize(const Json& params);
Result<OpenOptions> decode_session_open(const Json& params);
Result<SessionParams> decode_session(const Json& params, std::string_view method);
Result<CellRunParams> decode_cell_run(const Json& params);
Result<CellInterruptParams> decode_cell_interrupt(const Json& params);
Result<CellCompleteParams> decode_cell_complete(const Json& params);
Result<CancelParams> decode_cancel(const Json& params);

// ------------------------------------------------------------------ results

Json encode(const RunOutcome& outcome);
Json encode(const ResetOutcome& outcome);
Json encode(const CompleteOutcome& outcome);
Json encode_opened(const std::string& session, bool pooled);
Json encode_close(const CloseOutcome& outcome, int cancelled_cells);
Json encode(const MimeBundle& bundle);
Json encode(const ErrorInfo& error);
Json encode_list(const std::vector<SessionSummary>& sessions);
Json cell_json(const CellTag& tag);

// ------------------------------------------------------------------ notifications
// Whole message bodies, built directly: output is the hot path.

std::string output_notification(const std::string& session, const StreamOutput& out);
std::string started_notification(const std::string& session, const CellRef& cell);
std::string display_notification(const std::string& session, const DisplayOutput& shown);

}  // namespace subcell::protocol
