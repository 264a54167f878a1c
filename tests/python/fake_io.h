// A SessionIo that keeps what a session writes, for tests. A real
// implementation of the interface (no mocking): writes are appended per
// stream, displays kept in order.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "python/session_io.h"

namespace subcell::testing {

class RecordingIo final : public py::SessionIo {
 public:
  py::IoStatus write(Stream stream, std::string_view utf8, py::Waiter&) override {
    std::lock_guard lock(mutex_);
    (stream == Stream::kStdout ? out_ : err_).append(utf8);
    return py::IoStatus::kOk;
  }
  py::IoStatus display(py::Display display, py::Waiter&) override {
    std::lock_guard lock(mutex_);
    displays_.push_back(std::move(display.data));
    return py::IoStatus::kOk;
  }
  py::IoStatus clear_output(bool, py::Waiter&) override {
    std::lock_guard lock(mutex_);
    ++clears_;
    return py::IoStatus::kOk;
  }
  std::uint64_t current_cell() override { return 0; }
  py::InputReply read_input(std::string_view, bool, py::Waiter&) override {
    return {py::InputReply::Status::kUnsupported, "no client in this test"};
  }
  void set_thread_origin(std::uint64_t) override {}
  void end_session(py::SessionEnd end) override {
    std::lock_guard lock(mutex_);
    ends_.push_back(end);
  }
  std::vector<py::SessionEnd> ends() const {
    std::lock_guard lock(mutex_);
    return ends_;
  }
  std::string out() const {
    std::lock_guard lock(mutex_);
    return out_;
  }
  std::string err() const {
    std::lock_guard lock(mutex_);
    return err_;
  }
  std::vector<MimeBundle> displays() const {
    std::lock_guard lock(mutex_);
    return displays_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<py::SessionEnd> ends_;
  int clears_ = 0;
  std::string out_, err_;
  std::vector<MimeBundle> displays_;
};

inline std::string mime(const MimeBundle& bundle, const std::string& type) {
  for (const MimeEntry& e : bundle) {
    if (e.mime == type) return e.data;
  }
  return "<absent>";
}

}  // namespace subcell::testing
