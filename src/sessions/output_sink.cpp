#include "sessions/output_sink.h"

#include "sessions/session.h"
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

namespace {
// The cell that started this thread (0: none known), set once per thread.
thread_local JobId t_origin = 0;
}  // namespace

void OutputSink::set_cell(CellRef cell) {
  std::lock_guard lock(mutex_);
  job_.store(cell.job, std::memory_order_relaxed);
  cell_ = std::move(cell);
  running_ = true;
}

void OutputSink::cell_finished() {
  std::lock_guard lock(mutex_);
  running_ = false;
  job_.store(0, std::memory_order_relaxed);  // no fast-path appends to the finished cell's output
}

std::uint64_t OutputSink::current_cell() {
  std::lock_guard lock(mutex_);
  if (!running_) return 0;
  origins_.emplace(cell_.job, cell_);
  // A long session starts threads from many cells; the oldest origins go.
  while (origins_.size() > 4096) origins_.erase(origins_.begin());
  return cell_.job;
}

void OutputSink::set_thread_origin(std::uint64_t cell) { t_origin = cell; }

std::pair<CellRef, bool> OutputSink::destination() const {
  std::lock_guard lock(mutex_);
  if (t_origin != 0 && (t_origin != cell_.job || !running_)) {
    auto it = origins_.find(t_origin);
    if (it != origins_.end()) return {it->second, true};
  }
  // The cell's own thread, a thread of the running cell, or one whose
  // origin is unknown (_thread): the session's latest cell, late if over.
  return {cell_, !running_};
}

CellRef OutputSink::cell() const {
  std::lock_guard lock(mutex_);
  return cell_;
}

void OutputSink::set_closing() {
  closing_.store(true);
  std::lock_guard lock(input_mutex_);
  input_answered_.notify_all();  // waiting input() calls end
}

py::InputReply OutputSink::read_input(std::string_view prompt, bool password, py::Waiter& waiter) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(input_mutex_);
    id = next_input_++;
    inputs_[id].reset();
  }
  if (closing_.load() || !post(InputRequest{cell(), id, std::string(prompt), password})) {
    std::lock_guard lock(input_mutex_);
    inputs_.erase(id);
    return {py::InputReply::Status::kClosed, {}};
  }
  std::stop_token stop = waiter.stop_token();
  waiter.release_gil();
  py::InputReply reply{py::InputReply::Status::kStopped, {}};
  {
    std::unique_lock lock(input_mutex_);
    input_answered_.wait(lock, stop, [&] { return inputs_[id].has_value() || closing_.load(); });
    if (inputs_[id]) {
      reply = std::move(*inputs_[id]);
    } else if (closing_.load()) {
      reply.status = py::InputReply::Status::kClosed;
    }
    inputs_.erase(id);
  }
  waiter.reacquire_gil();
  // Interrupted: the client's prompt is withdrawn.
  if (reply.status == py::InputReply::Status::kStopped) post(InputCancelled{id});
  return reply;
}

void OutputSink::answer_input(std::uint64_t id, py::InputReply reply) {
  std::lock_guard lock(input_mutex_);
  auto it = inputs_.find(id);
  if (it == inputs_.end()) return;  // no longer waited for
  it->second = std::move(reply);
  input_answered_.notify_all();
}

py::IoStatus OutputSink::write(Stream stream, std::string_view utf8, py::Waiter& waiter) {
  if (closing_.load(std::memory_order_relaxed)) {
    log::info("output after close: " + std::string(utf8.substr(0, 2000)));
    return py::IoStatus::kOk;
  }
  // Fast path: the cell's own thread, whose previous write to this stream
  // is still waiting in the channel: append to it in place.
  const JobId job = job_.load(std::memory_order_relaxed);
  if (t_origin == 0 && utf8.size() <= SessionEventTraits::kMaxChunk) {
    SendInfo info = channel_.try_extend_tail(utf8.size(), [&](SessionEvent& tail) -> std::size_t {
      auto* out = std::get_if<StreamOutput>(&tail);
      if (out == nullptr || out->stream != stream || out->cell.job != job || out->late ||
          out->text.size() + utf8.size() > SessionEventTraits::kMaxChunk) {
        return 0;
      }
      out->text.append(utf8);
      return utf8.size();
    });
    if (info.status == SendStatus::kSent) {
      wake_if_needed(info, utf8.size(), false);
      return py::IoStatus::kOk;
    }
  }
  const auto [current, late] = destination();
  // Huge writes go out in pieces, so one print cannot exceed the channel.
  while (!utf8.empty()) {
    const std::size_t n = utf8_prefix(utf8, SessionEventTraits::kMaxChunk);
    py::IoStatus s = send(StreamOutput{current, stream, std::string(utf8.substr(0, n)), late}, waiter, late);
    if (s != py::IoStatus::kOk) return s;
    utf8.remove_prefix(n);
  }
  return py::IoStatus::kOk;
}

void OutputSink::end_session(py::SessionEnd end) { session_.end_from_python(end); }

py::IoStatus OutputSink::display(py::Display display, py::Waiter& waiter) {
  return send(DisplayOutput{cell(), std::move(display.data), std::move(display.display_id), display.update}, waiter,
              true);
}

py::IoStatus OutputSink::clear_output(bool wait, py::Waiter& waiter) {
  return send(ClearOutput{cell(), wait}, waiter, true);
}

py::IoStatus OutputSink::send(SessionEvent event, py::Waiter& waiter, bool urgent) {
  const std::size_t cost = SessionEventTraits::cost(event);
  SendInfo info = channel_.try_send(std::move(event));
  if (info.status == SendStatus::kFull) {
    // The consumer is behind: make sure it drains now, then wait for room.
    listener_.on_session_events(session_, true);
    std::stop_token stop = waiter.stop_token();
    waiter.release_gil();
    info = channel_.send(std::move(event), stop);
    waiter.reacquire_gil();
  }
  if (info.status == SendStatus::kClosed) return py::IoStatus::kClosed;
  if (info.status == SendStatus::kStopped) return py::IoStatus::kStopped;
  wake_if_needed(info, cost, urgent);
  return py::IoStatus::kOk;
}

void OutputSink::wake_if_needed(const SendInfo& info, std::size_t cost, bool urgent) {
  const bool crossed = info.pending_cost >= kUrgentBytes && info.pending_cost < kUrgentBytes + cost;
  if (urgent || crossed) {
    listener_.on_session_events(session_, true);
  } else if (info.was_empty) {
    listener_.on_session_events(session_, false);
  }
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
