// What running Python produces, as plain C++ data: the (value, error) tuple
// of a cell, MIME bundles, and the error snapshot formatted inside the
// interpreter. No Python objects: these cross threads and interpreters.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace subcell {

enum class Stream { kStdout, kStderr };

struct MimeEntry {
  std::string mime;
  std::string data;      // text, base64 for images, JSON text when is_json
  bool is_json = false;  // data is serialized JSON (application/json)
};
using MimeBundle = std::vector<MimeEntry>;

// The client's opaque id for a cell (its JSON text, e.g. "\"a\"" or "7");
// empty when the client gave none.
using CellTag = std::string;

struct TraceFrame {
  std::string file;
  std::optional<int> line;
  std::string function;
  std::string source;
  int execution_count = 0;  // > 0 when the frame is in a cell of the session
  CellTag cell;             // filled in by the session
};

struct ErrorLocation {
  std::string file;
  int line = 1;
  std::optional<int> column, end_line, end_column;
  int execution_count = 0;
  CellTag cell;
};

// One exception of an error's chain, or a member of an ExceptionGroup.
struct ErrorLink {
  std::string relation;  // "cause" or "context" (how it leads to the next link); empty for members
  std::string type;
  std::string message;
  std::vector<TraceFrame> frames;
  std::vector<std::string> notes;
  std::vector<ErrorLink> members;
};

// What the client could do about an error (an editor shows it as an action).
struct Suggestion {
  std::string action;                // "restartInProcess"
  std::string message;               // for the user
  std::vector<std::string> modules;  // the modules that need it
};

struct ErrorInfo {
  std::string type;  // qualified class name, e.g. "json.decoder.JSONDecodeError"
  std::string message;
  std::string traceback;  // the full text, as Python prints it
  std::vector<TraceFrame> frames;  // outermost first
  std::optional<ErrorLocation> location;
  std::optional<Suggestion> suggestion;
  std::vector<std::string> notes;   // add_note()
  std::vector<ErrorLink> members;   // an ExceptionGroup's exceptions
  std::vector<ErrorLink> chain;     // causes and contexts, first printed first
};

// A cell of an `auto` session imports modules that need a process.
struct NeedsProcess {
  std::vector<std::string> modules;
  bool movable = true;  // the session holds no state yet: it can move before the cell runs
};

// The result of run(): a value, an error, or neither (no value to show).
struct RunOutcome {
  std::optional<MimeBundle> value;
  std::optional<ErrorInfo> error;
  int execution_count = 0;
  double duration_ms = 0;
  // The cell defined functions, classes or lambdas, so its frames can show
  // up in later tracebacks; its source and cell id are kept for them.
  bool defines_code = false;
  // The cell was stopped by its time limit (its error is that interrupt).
  bool timed_out = false;
  // Set (and the cell not run) when an auto session's cell needs a process.
  std::optional<NeedsProcess> needs_process;
};

struct ResetOutcome {
  int removed_names = 0;
  double duration_ms = 0;
};

// One of the user's variables (session/variables).
struct VariableInfo {
  std::string name;
  std::string type;
  std::string repr;
  std::optional<long long> length;
  std::optional<std::vector<long long>> shape;
};

struct VariablesOutcome {
  std::vector<VariableInfo> variables;
  std::size_t total = 0;
  std::size_t offset = 0;
};

// The name at a cursor (cell/inspect).
struct InspectOutcome {
  bool found = false;
  std::string name;
  std::string type;
  std::optional<std::string> signature;
  std::optional<std::string> docstring;
  std::optional<std::string> repr;
};

struct CompleteOutcome {
  std::vector<std::string> matches;
  std::size_t cursor_start = 0;
  std::size_t cursor_end = 0;
};

// "<cell 12>" -> 12; 0 for any other file name.
int execution_count_of_file(const std::string& file);

}  // namespace subcell

namespace subcell {

struct CloseOutcome {
  bool ended = true;      // false: a thread would not stop, the interpreter is parked
  int stray_threads = 0;  // threads still running when the session was closed
};

}  // namespace subcell
