#include "protocol/protocol_json.h"

#include "rpc/params.h"

namespace subcell::protocol {
namespace {

const char* state_name(SessionState s) {
  switch (s) {
    case SessionState::kStarting:
    case SessionState::kIdle: return "idle";
    case SessionState::kBusy: return "busy";
    case SessionState::kClosing:
    case SessionState::kClosed: return "closing";
  }
  return "idle";
}

bool read_session_id(rpc::ParamReader& r, std::string& out) {
  if (!r.required("session", out)) return false;
  if (out.empty() || out.size() > 128) {
    r.fail("session", "must be 1 to 128 characters");
    return false;
  }
  return true;
}

// A cell id is a string or an integer (or null); kept as its JSON text.
bool read_cell(rpc::ParamReader& r, std::optional<CellTag>& out) {
  std::optional<Json> cell;
  if (!r.optional("cell", cell)) return false;
  if (!cell) return true;
  if (!cell->is_null() && !cell->is_string() && !cell->is_number_integer()) {
    r.fail("cell", "expected a string, an integer or null");
    return false;
  }
  out = cell->is_null() ? CellTag{} : rpc::dump(*cell);
  return true;
}

std::string quoted(const std::string& s) { return rpc::dump(Json(s)); }

std::string notification_head(std::string_view method, const std::string& session, const CellRef& cell) {
  std::string body = R"({"jsonrpc":"2.0","method":")";
  body += method;
  body += R"(","params":{"session":)";
  body += quoted(session);
  body += R"(,"cell":)";
  body += cell.tag.empty() ? "null" : cell.tag;
  body += R"(,"executionCount":)";
  body += std::to_string(cell.execution_count);
  return body;
}

bool read_isolation(rpc::ParamReader& r, std::string_view key, std::optional<Isolation>& out) {
  std::optional<std::string> name;
  if (!r.optional(key, name)) return false;
  if (!name) return true;
  if (*name == "interpreter") {
    out = Isolation::kInterpreter;
  } else if (*name == "process") {
    out = Isolation::kProcess;
  } else if (*name == "auto") {
    out = Isolation::kAuto;
  } else {
    r.fail(key, "must be \"interpreter\", \"process\" or \"auto\"");
    return false;
  }
  return true;
}

bool read_limits(rpc::ParamReader& r, std::string_view method, std::string_view prefix, Limits& out) {
  std::optional<Json> limits;
  if (!r.optional("limits", limits)) return false;
  if (!limits || limits->is_null()) return true;
  rpc::ParamReader l(*limits, method, std::string(prefix) + ".limits");
  if (l.optional("memoryMB", out.memory_mb) && out.memory_mb && (*out.memory_mb < 16 || *out.memory_mb > (1 << 24))) {
    l.fail("memoryMB", "must be between 16 and 16777216");
  }
  if (l.ok() && l.optional("cellTimeoutSeconds", out.cell_timeout_seconds) && out.cell_timeout_seconds &&
      !(*out.cell_timeout_seconds > 0 && *out.cell_timeout_seconds <= 1e7)) {
    l.fail("cellTimeoutSeconds", "must be a positive number of seconds");
  }
  return r.absorb(l);
}

}  // namespace

const char* isolation_name(Isolation isolation) {
  switch (isolation) {
    case Isolation::kInterpreter: return "interpreter";
    case Isolation::kProcess: return "process";
    case Isolation::kAuto: return "auto";
  }
  return "interpreter";
}

Result<InitializeParams> decode_initialize(const Json& params) {
  rpc::ParamReader r(params, "initialize");
  InitializeParams p;
  std::optional<Json> options;
  r.optional("initializationOptions", options);
  if (options && !options->is_null()) {
    rpc::ParamReader o(*options, "initialize", "params.initializationOptions");
    if (o.optional("poolSize", p.pool_size) && p.pool_size && (*p.pool_size < 0 || *p.pool_size > 64)) {
      o.fail("poolSize", "must be between 0 and 64");
    }
    o.optional("prelude", p.prelude);
    read_isolation(o, "isolation", p.isolation);
    if (o.ok() && o.optional("processPoolSize", p.process_pool_size) && p.process_pool_size &&
        (*p.process_pool_size < 0 || *p.process_pool_size > 16)) {
      o.fail("processPoolSize", "must be between 0 and 16");
    }
    std::optional<std::string> host;
    if (o.ok() && o.optional("interpreterHost", host) && host) {
      if (*host != "server" && *host != "workers") o.fail("interpreterHost", "must be \"server\" or \"workers\"");
      p.interpreters_in_workers = *host == "workers";
    }
    std::optional<Json> recycle;
    if (o.ok() && o.optional("workerRecycle", recycle) && recycle && !recycle->is_null()) {
      rpc::ParamReader w(*recycle, "initialize", "params.initializationOptions.workerRecycle");
      w.optional("afterSessions", p.recycle_after_sessions) && w.optional("afterMB", p.recycle_after_mb);
      if (w.ok() && ((p.recycle_after_sessions && *p.recycle_after_sessions < 0) ||
                     (p.recycle_after_mb && *p.recycle_after_mb < 0))) {
        w.fail("afterSessions", "the counts must not be negative");
      }
      o.absorb(w);
    }
    if (o.ok()) read_limits(o, "initialize", "params.initializationOptions", p.limits);
    if (o.ok()) o.optional("guard", p.guard);
    if (o.ok()) o.optional("python", p.python);
    if (!o.ok()) return o.error();
  }
  std::optional<Json> capabilities;
  r.optional("capabilities", capabilities);
  if (capabilities && capabilities->is_object()) {
    auto input = capabilities->find("input");
    p.client_input = input != capabilities->end() && input->is_boolean() && input->get<bool>();
  }
  std::optional<Json> client;
  r.optional("clientInfo", client);
  if (client && client->is_object()) {
    p.client = client->value("name", "") + " " + client->value("version", "");
  }
  if (!r.ok()) return r.error();
  return p;
}

Result<SessionOpenParams> decode_session_open(const Json& params) {
  rpc::ParamReader r(params, "session/open");
  SessionOpenParams p;
  OpenOptions& o = p.open;
  r.optional("session", o.id) && r.optional("cwd", o.cwd) && r.optional("name", o.name);
  if (r.ok() && o.id && (o.id->empty() || o.id->size() > 128)) r.fail("session", "must be 1 to 128 characters");
  if (r.ok()) read_isolation(r, "isolation", p.isolation);
  if (r.ok()) read_limits(r, "session/open", "params", p.limits);
  if (r.ok()) r.optional("guard", o.guard);
  if (r.ok() && r.optional("python", p.python) && p.python && p.python->empty()) r.fail("python", "must not be empty");
  std::optional<Json> env;
  if (r.ok() && r.optional("env", env) && env && !env->is_null()) {
    if (!env->is_object()) {
      r.fail("env", "expected an object of strings (or null to unset)");
    } else {
      for (const auto& [name, value] : env->items()) {
        if (name.empty() || name.find('=') != std::string::npos || (!value.is_string() && !value.is_null())) {
          r.fail("env", "expected names without '=' mapped to strings or null, not '" + name + "'");
          break;
        }
        o.env[name] = value.is_null() ? std::nullopt : std::optional(value.get<std::string>());
      }
    }
  }
  std::optional<std::int64_t> count;
  if (r.ok() && r.optional("executionCount", count) && count && (*count < 0 || *count > (1 << 30))) {
    r.fail("executionCount", "must not be negative");
  }
  if (!r.ok()) return r.error();
  if (count) o.execution_count = static_cast<int>(*count);
  return p;
}

Json encode_open_for_worker(const std::string& id, const SessionOpenParams& params, const Limits& limits) {
  Json out{{"session", id}};
  const OpenOptions& o = params.open;
  if (o.cwd) out["cwd"] = *o.cwd;
  if (o.name) out["name"] = *o.name;
  if (o.execution_count) out["executionCount"] = *o.execution_count;
  if (o.guard) out["guard"] = *o.guard;
  if (!o.env.empty()) {
    Json env = Json::object();
    for (const auto& [name, value] : o.env) env[name] = value ? Json(*value) : Json(nullptr);
    out["env"] = std::move(env);
  }
  Json l = Json::object();
  if (limits.memory_mb) l["memoryMB"] = *limits.memory_mb;
  if (limits.cell_timeout_seconds) l["cellTimeoutSeconds"] = *limits.cell_timeout_seconds;
  if (!l.empty()) out["limits"] = std::move(l);
  return out;
}

Result<SessionParams> decode_session(const Json& params, std::string_view method) {
  rpc::ParamReader r(params, method);
  SessionParams p;
  if (!read_session_id(r, p.session)) return r.error();
  return p;
}

Result<SessionRestartParams> decode_session_restart(const Json& params) {
  rpc::ParamReader r(params, "session/restart");
  SessionRestartParams p;
  read_session_id(r, p.session) && read_isolation(r, "isolation", p.isolation);
  if (!r.ok()) return r.error();
  return p;
}

Result<CellRunParams> decode_cell_run(const Json& params) {
  rpc::ParamReader r(params, "cell/run");
  CellRunParams p;
  std::optional<CellTag> cell;
  std::optional<bool> stop_on_error;
  read_session_id(r, p.session) && r.required("code", p.code) && read_cell(r, cell) &&
      r.optional("stopOnError", stop_on_error);
  if (!r.ok()) return r.error();
  p.cell = cell.value_or(CellTag{});
  p.stop_on_error = stop_on_error.value_or(false);
  return p;
}

Result<CellInterruptParams> decode_cell_interrupt(const Json& params) {
  rpc::ParamReader r(params, "cell/interrupt");
  CellInterruptParams p;
  read_session_id(r, p.session) && read_cell(r, p.cell);
  if (!r.ok()) return r.error();
  return p;
}

Result<VariablesParams> decode_variables(const Json& params) {
  rpc::ParamReader r(params, "session/variables");
  VariablesParams p;
  std::optional<std::int64_t> offset, limit;
  read_session_id(r, p.session) && r.optional("offset", offset) && r.optional("limit", limit);
  if (r.ok() && offset && *offset < 0) r.fail("offset", "must not be negative");
  if (r.ok() && limit && (*limit < 1 || *limit > 1000)) r.fail("limit", "must be between 1 and 1000");
  if (!r.ok()) return r.error();
  if (offset) p.offset = static_cast<std::size_t>(*offset);
  if (limit) p.limit = static_cast<std::size_t>(*limit);
  return p;
}

Result<CellCompleteParams> decode_cell_complete(const Json& params, std::string_view method) {
  rpc::ParamReader r(params, method);
  CellCompleteParams p;
  std::optional<std::int64_t> cursor;
  read_session_id(r, p.session) && r.required("code", p.code) && r.optional("cursor", cursor);
  if (r.ok() && cursor && *cursor < 0) r.fail("cursor", "must not be negative");
  if (!r.ok()) return r.error();
  if (cursor) p.cursor = static_cast<std::size_t>(*cursor);
  return p;
}

Result<CancelParams> decode_cancel(const Json& params) {
  rpc::ParamReader r(params, "$/cancelRequest");
  CancelParams p;
  if (r.required("id", p.id) && !p.id.is_string() && !p.id.is_number_integer()) {
    r.fail("id", "expected a string or an integer");
  }
  if (!r.ok()) return r.error();
  return p;
}

Json cell_json(const CellTag& tag) {
  if (tag.empty()) return nullptr;
  Json j = Json::parse(tag, nullptr, false);
  return j.is_discarded() ? Json(nullptr) : j;
}

Json encode(const MimeBundle& bundle) {
  Json out = Json::object();
  for (const MimeEntry& e : bundle) {
    if (e.is_json) {
      Json value = Json::parse(e.data, nullptr, false);
      if (!value.is_discarded()) out[e.mime] = std::move(value);
    } else {
      out[e.mime] = e.data;
    }
  }
  if (!out.contains("text/plain")) out["text/plain"] = "";
  return out;
}

namespace {

Json encode_frames(const std::vector<TraceFrame>& frames) {
  Json out = Json::array();
  for (const TraceFrame& f : frames) {
    Json frame{{"file", f.file}, {"line", f.line ? Json(*f.line) : Json(nullptr)}, {"function", f.function},
               {"source", f.source}};
    if (f.execution_count > 0) {
      frame["executionCount"] = f.execution_count;
      frame["cell"] = cell_json(f.cell);
    }
    out.push_back(std::move(frame));
  }
  return out;
}

Json encode_links(const std::vector<ErrorLink>& links) {
  Json out = Json::array();
  for (const ErrorLink& link : links) {
    Json j{{"type", link.type}, {"message", link.message}, {"frames", encode_frames(link.frames)}};
    if (!link.relation.empty()) j["relation"] = link.relation;
    if (!link.notes.empty()) j["notes"] = link.notes;
    if (!link.members.empty()) j["exceptions"] = encode_links(link.members);
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

Json encode(const ErrorInfo& error) {
  Json out{{"type", error.type},
           {"message", error.message},
           {"traceback", error.traceback},
           {"frames", encode_frames(error.frames)}};
  if (const auto& loc = error.location) {
    Json l{{"file", loc->file}, {"line", loc->line}};
    if (loc->column) l["column"] = *loc->column;
    if (loc->end_line) l["endLine"] = *loc->end_line;
    if (loc->end_column) l["endColumn"] = *loc->end_column;
    if (loc->execution_count > 0) {
      l["executionCount"] = loc->execution_count;
      l["cell"] = cell_json(loc->cell);
    }
    out["location"] = std::move(l);
  }
  if (!error.notes.empty()) out["notes"] = error.notes;
  if (!error.members.empty()) out["exceptions"] = encode_links(error.members);
  if (!error.chain.empty()) out["chain"] = encode_links(error.chain);
  if (const auto& s = error.suggestion) {
    out["suggestion"] = Json{{"action", s->action}, {"message", s->message}, {"modules", s->modules}};
  }
  return out;
}

Json encode(const RunOutcome& outcome) {
  return Json{{"executionCount", outcome.execution_count},
              {"durationMs", outcome.duration_ms},
              {"value", outcome.value ? encode(*outcome.value) : Json(nullptr)},
              {"error", outcome.error ? encode(*outcome.error) : Json(nullptr)}};
}

Json encode(const ResetOutcome& outcome) {
  return Json{{"removedNames", outcome.removed_names}, {"durationMs", outcome.duration_ms}};
}

Json encode(const VariablesOutcome& outcome) {
  Json list = Json::array();
  for (const VariableInfo& v : outcome.variables) {
    Json entry{{"name", v.name}, {"type", v.type}, {"repr", v.repr}};
    if (v.length) entry["length"] = *v.length;
    if (v.shape) entry["shape"] = *v.shape;
    list.push_back(std::move(entry));
  }
  return Json{{"variables", std::move(list)}, {"total", outcome.total}, {"offset", outcome.offset}};
}

Json encode(const InspectOutcome& outcome) {
  if (!outcome.found) return Json{{"found", false}};
  Json out{{"found", true}, {"name", outcome.name}, {"type", outcome.type}};
  if (outcome.signature) out["signature"] = *outcome.signature;
  if (outcome.docstring) out["docstring"] = *outcome.docstring;
  if (outcome.repr) out["repr"] = *outcome.repr;
  return out;
}

Json encode(const CompleteOutcome& outcome) {
  return Json{{"matches", outcome.matches}, {"cursorStart", outcome.cursor_start}, {"cursorEnd", outcome.cursor_end}};
}

Json encode_python(const PythonIdentity& python) {
  return Json{{"version", python.version}, {"executable", python.executable}, {"prefix", python.prefix}};
}

Json encode_opened(const std::string& session, bool pooled, Isolation isolation, int pid, const PythonIdentity& python) {
  Json out{{"session", session}, {"pooled", pooled}, {"isolation", isolation_name(isolation)}, {"pid", pid}};
  if (!python.version.empty()) out["python"] = encode_python(python);
  return out;
}

Json encode_close(const CloseOutcome& outcome, int cancelled_cells, const char* fate) {
  return Json{{"interpreter", fate != nullptr ? fate : outcome.ended ? "ended" : "parked"},
              {"cancelledCells", cancelled_cells},
              {"strayThreads", outcome.stray_threads}};
}

Json encode_list(const std::vector<SessionSummary>& sessions, Isolation isolation, int pid) {
  Json list = Json::array();
  for (const SessionSummary& s : sessions) {
    Json entry{{"session", s.id},
               {"state", state_name(s.state)},
               {"cellsRun", s.cells_run},
               {"queuedCells", s.queued_cells},
               {"isolation", isolation_name(s.parent.empty() ? isolation : Isolation::kInterpreter)},
               {"pid", pid}};
    if (!s.name.empty()) entry["name"] = s.name;
    if (!s.python.version.empty()) entry["python"] = encode_python(s.python);
    if (!s.parent.empty()) entry["parent"] = s.parent;
    list.push_back(std::move(entry));
  }
  return Json{{"sessions", std::move(list)}};
}

Json crashed_params(const std::string& session, const Crash& crash) {
  Json out{{"session", session}, {"cause", crash.cause}, {"message", crash.message}, {"stderr", crash.stderr_tail}};
  if (!crash.signal.empty()) out["signal"] = crash.signal;
  if (crash.exit_code) out["exitCode"] = *crash.exit_code;
  return out;
}

std::string output_notification(const std::string& session, const StreamOutput& out) {
  std::string body = notification_head("cell/output", session, out.cell);
  body += out.stream == Stream::kStdout ? R"(,"stream":"stdout","text":)" : R"(,"stream":"stderr","text":)";
  body += quoted(out.text);
  if (out.late) body += R"(,"late":true)";
  body += "}}";
  return body;
}

std::string clear_notification(const std::string& session, const ClearOutput& clear) {
  return notification_head("cell/clear", session, clear.cell) + (clear.wait ? R"(,"wait":true}})" : R"(,"wait":false}})");
}

std::string started_notification(const std::string& session, const CellRef& cell) {
  return notification_head("cell/started", session, cell) + "}}";
}

std::string display_notification(const std::string& session, const DisplayOutput& shown) {
  std::string body = notification_head("cell/display", session, shown.cell);
  body += R"(,"data":)";
  body += rpc::dump(encode(shown.data));
  if (!shown.display_id.empty()) {
    body += R"(,"displayId":)" + quoted(shown.display_id);
    if (shown.update) body += R"(,"update":true)";
  }
  body += "}}";
  return body;
}

}  // namespace subcell::protocol
