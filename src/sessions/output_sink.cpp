#include "sessions/output_sink.h"

#include "support/log.h"

namespace subcell {
namespace {

// The longest prefix of `text` of at most `limit` bytes that does not cut a
// UTF-8 sequence.
std::size_t utf8_prefix(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text.size();
  std::size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n == 0 ? limit : n;
}

}  // namespace

void OutputSink::set_cell(CellRef cell) {
  std::lock_guard lock(mutex_);
  cell_ = std::move(cell);
}

CellRef OutputSink::cell() const {
  std::lock_guard lock(mutex_);
  return cell_;
}

void OutputSink::set_closing() {
  std::lock_guard lock(mutex_);
  closing_ = true;
}

py::IoStatus OutputSink::write(Stream stream, std::string_view utf8, std::stop_token stop, py::GilRelease& gil) {
  CellRef cell;
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      log::info("output after close: " + std::string(utf8.substr(0, 2000)));
      return py::IoStatus::kOk;
    }
    cell = cell_;
  }
  // Huge writes go out in pieces, so one print cannot exceed the channel.
  while (!utf8.empty()) {
    const std::size_t n = utf8_prefix(utf8, SessionEventTraits::kMaxChunk);
    py::IoStatus s = send(StreamOutput{cell, stream, std::string(utf8.substr(0, n))}, stop, gil, false);
    if (s != py::IoStatus::kOk) return s;
    utf8.remove_prefix(n);
  }
  return py::IoStatus::kOk;
}

py::IoStatus OutputSink::display(MimeBundle bundle, std::stop_token stop, py::GilRelease& gil) {
  return send(DisplayOutput{cell(), std::move(bundle)}, stop, gil, true);
}

py::IoStatus OutputSink::send(SessionEvent event, std::stop_token stop, py::GilRelease& gil, bool urgent) {
  const std::size_t cost = SessionEventTraits::cost(event);
  SendInfo info = channel_.try_send(std::move(event));
  if (info.status == SendStatus::kFull) {
    // The consumer is behind: make sure it drains now, then wait for room.
    listener_.on_session_events(session_, true);
    gil.release();
    info = channel_.send(std::move(event), stop);
    gil.reacquire();
  }
  if (info.status == SendStatus::kClosed) return py::IoStatus::kClosed;
  if (info.status == SendStatus::kStopped) return py::IoStatus::kStopped;
  const bool crossed = info.pending_cost >= kUrgentBytes && info.pending_cost < kUrgentBytes + cost;
  if (urgent || crossed) {
    listener_.on_session_events(session_, true);
  } else if (info.was_empty) {
    listener_.on_session_events(session_, false);
  }
  return py::IoStatus::kOk;
}

bool OutputSink::post(SessionEvent event, Wake wake) {
  SendInfo info = channel_.send(std::move(event));
  if (info.status != SendStatus::kSent) return false;
  if (wake == Wake::kNow) {
    listener_.on_session_events(session_, true);
  } else if (info.was_empty) {
    listener_.on_session_events(session_, false);
  }
  return true;
}

}  // namespace subcell
