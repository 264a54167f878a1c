#include "python/convert.h"

#include <cstring>

#include "python/compat.h"
#include "python/ref.h"

namespace subcell::py {
namespace {

std::optional<int> to_int(PyObject* obj) {
  if (obj == nullptr || !PyLong_Check(obj)) return std::nullopt;
  long v = PyLong_AsLong(obj);
  if (v == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    return std::nullopt;
  }
  return static_cast<int>(v);
}

std::optional<int> positive(std::optional<int> v) {
  return v && *v >= 1 ? v : std::nullopt;
}

bool is_json_mime(const std::string& mime) {
  return mime == "application/json" || (mime.size() > 5 && mime.compare(mime.size() - 5, 5, "+json") == 0);
}

std::vector<TraceFrame> frames_of(PyObject* frames);
std::vector<std::string> strings_of(PyObject* list);
std::vector<ErrorLink> links_of(PyObject* list, int depth);

}  // namespace

std::string to_utf8(PyObject* obj) {
  if (obj == nullptr) return {};
  Ref text = PyUnicode_Check(obj) ? borrow(obj) : steal(PyObject_Str(obj));
  if (!text) {
    PyErr_Clear();
    return "<unprintable object>";
  }
  Py_ssize_t size = 0;
  if (const char* utf8 = PyUnicode_AsUTF8AndSize(text.get(), &size)) return std::string(utf8, size);
  PyErr_Clear();
  Ref bytes = steal(PyUnicode_AsEncodedString(text.get(), "utf-8", "backslashreplace"));
  if (!bytes) {
    PyErr_Clear();
    return "<unencodable text>";
  }
  return std::string(PyBytes_AS_STRING(bytes.get()), PyBytes_GET_SIZE(bytes.get()));
}

MimeBundle bundle_from_dict(PyObject* dict) {
  MimeBundle bundle;
  if (dict == nullptr || !PyDict_Check(dict)) return bundle;
  PyObject* key = nullptr;
  PyObject* value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &key, &value)) {
    if (!PyUnicode_Check(key) || !PyUnicode_Check(value)) continue;
    MimeEntry entry{to_utf8(key), to_utf8(value)};
    entry.is_json = is_json_mime(entry.mime);
    // text/plain first: readers that show one form pick it up at once.
    if (entry.mime == "text/plain") {
      bundle.insert(bundle.begin(), std::move(entry));
    } else {
      bundle.push_back(std::move(entry));
    }
  }
  return bundle;
}

namespace {

std::vector<TraceFrame> frames_of(PyObject* frames) {
  std::vector<TraceFrame> out;
  if (frames == nullptr || !PyList_Check(frames)) return out;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(frames); ++i) {
    PyObject* f = PyList_GET_ITEM(frames, i);
    if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 4) continue;
    TraceFrame frame;
    frame.file = to_utf8(PyTuple_GET_ITEM(f, 0));
    frame.line = to_int(PyTuple_GET_ITEM(f, 1));
    frame.function = to_utf8(PyTuple_GET_ITEM(f, 2));
    frame.source = to_utf8(PyTuple_GET_ITEM(f, 3));
    frame.execution_count = execution_count_of_file(frame.file);
    out.push_back(std::move(frame));
  }
  return out;
}

std::vector<std::string> strings_of(PyObject* list) {
  std::vector<std::string> out;
  if (list == nullptr || !PyList_Check(list)) return out;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); ++i) out.push_back(to_utf8(PyList_GET_ITEM(list, i)));
  return out;
}

// (relation, type, message, frames, notes, members) tuples; nested groups
// are followed a few levels deep.
std::vector<ErrorLink> links_of(PyObject* list, int depth) {
  std::vector<ErrorLink> out;
  if (list == nullptr || !PyList_Check(list) || depth > 8) return out;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); ++i) {
    PyObject* t = PyList_GET_ITEM(list, i);
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 6) continue;
    ErrorLink link;
    if (PyTuple_GET_ITEM(t, 0) != Py_None) link.relation = to_utf8(PyTuple_GET_ITEM(t, 0));
    link.type = to_utf8(PyTuple_GET_ITEM(t, 1));
    link.message = to_utf8(PyTuple_GET_ITEM(t, 2));
    link.frames = frames_of(PyTuple_GET_ITEM(t, 3));
    link.notes = strings_of(PyTuple_GET_ITEM(t, 4));
    link.members = links_of(PyTuple_GET_ITEM(t, 5), depth + 1);
    out.push_back(std::move(link));
  }
  return out;
}

}  // namespace

ErrorInfo error_from_tuple(PyObject* tuple) {
  ErrorInfo info;
  if (tuple == nullptr || !PyTuple_Check(tuple) || PyTuple_GET_SIZE(tuple) != 8) {
    info.type = "SystemError";
    info.message = "subcell: malformed error description from the runner";
    info.traceback = info.type + ": " + info.message + "\n";
    return info;
  }
  info.type = to_utf8(PyTuple_GET_ITEM(tuple, 0));
  info.message = to_utf8(PyTuple_GET_ITEM(tuple, 1));
  info.traceback = to_utf8(PyTuple_GET_ITEM(tuple, 2));
  info.frames = frames_of(PyTuple_GET_ITEM(tuple, 3));
  PyObject* loc = PyTuple_GET_ITEM(tuple, 4);
  if (PyTuple_Check(loc) && PyTuple_GET_SIZE(loc) == 5) {
    if (std::optional<int> line = positive(to_int(PyTuple_GET_ITEM(loc, 1)))) {
      ErrorLocation location;
      location.file = to_utf8(PyTuple_GET_ITEM(loc, 0));
      location.line = *line;
      location.column = positive(to_int(PyTuple_GET_ITEM(loc, 2)));
      location.end_line = positive(to_int(PyTuple_GET_ITEM(loc, 3)));
      location.end_column = positive(to_int(PyTuple_GET_ITEM(loc, 4)));
      location.execution_count = execution_count_of_file(location.file);
      info.location = std::move(location);
    }
  }
  info.notes = strings_of(PyTuple_GET_ITEM(tuple, 5));
  info.members = links_of(PyTuple_GET_ITEM(tuple, 6), 0);
  info.chain = links_of(PyTuple_GET_ITEM(tuple, 7), 0);
  return info;
}

ErrorInfo error_from_current_exception(const std::string& context) {
  ErrorInfo info;
  Ref exc = steal(take_raised_exception());
  if (!exc) {
    info.type = "SystemError";
    info.message = context + ": failed without an exception";
  } else {
    PyTypeObject* type = Py_TYPE(exc.get());
    info.type = type->tp_name != nullptr ? type->tp_name : "BaseException";
    if (const char* dot = std::strrchr(info.type.c_str(), '.'); dot && info.type.rfind("builtins.", 0) == 0) {
      info.type = dot + 1;
    }
    info.message = to_utf8(exc.get());
  }
  info.traceback = info.type + ": " + info.message + "\n(raised inside subcell: " + context + ")\n";
  return info;
}

}  // namespace subcell::py

namespace subcell {

int execution_count_of_file(const std::string& file) {
  constexpr std::string_view prefix = "<cell ";
  if (file.size() < prefix.size() + 2 || file.compare(0, prefix.size(), prefix) != 0 || file.back() != '>') return 0;
  int n = 0;
  for (std::size_t i = prefix.size(); i + 1 < file.size(); ++i) {
    if (file[i] < '0' || file[i] > '9' || n > 100000000) return 0;
    n = n * 10 + (file[i] - '0');
  }
  return n;
}

}  // namespace subcell
