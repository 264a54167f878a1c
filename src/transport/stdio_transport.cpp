#include "transport/stdio_transport.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "support/log.h"

namespace subcell {
namespace {

std::string uv_message(int code) { return std::string(uv_err_name(code)) + ": " + uv_strerror(code); }

void alloc_buffer(uv_handle_t* /*handle*/, size_t suggested, uv_buf_t* buf) {
  // 64 KiB reads: big frames arrive in few callbacks.
  static constexpr size_t kReadSize = 64 * 1024;
  (void)suggested;
  buf->base = new char[kReadSize];
  buf->len = kReadSize;
}

std::string frame(std::string_view body) {
  std::string out = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace

struct StdioTransport::WriteRequest {
  uv_write_t req{};
  std::string data;
  StdioTransport* owner = nullptr;
};

StdioTransport::StdioTransport(uv_loop_t* loop, int in_fd, int out_fd, std::size_t max_body, std::size_t high_water)
    : loop_(loop), in_fd_(in_fd), out_fd_(out_fd), high_water_(high_water), low_water_(high_water / 4), decoder_(max_body) {}

StdioTransport::~StdioTransport() { close(); }

Status StdioTransport::start(Handler* handler) {
  handler_ = handler;
  if (Status s = open_output(); !s) return s;
  return open_input();
}

Status StdioTransport::open_input() {
  in_type_ = uv_guess_handle(in_fd_);
  int rc = 0;
  switch (in_type_) {
    case UV_NAMED_PIPE:
    case UV_TCP:  // a socketpair from the parent: libuv drives it as a pipe
      rc = uv_pipe_init(loop_, in_pipe_.get(), 0);
      if (rc == 0) in_pipe_.mark_initialized(), rc = uv_pipe_open(in_pipe_.get(), in_fd_);
      in_stream_ = in_pipe_.stream();
      break;
    case UV_TTY:
      rc = uv_tty_init(loop_, in_tty_.get(), in_fd_, 1);
      if (rc == 0) in_tty_.mark_initialized();
      in_stream_ = in_tty_.stream();
      break;
    case UV_FILE:
      file_read_ = std::make_unique<uv_fs_t>();
      file_read_->data = this;
      read_file_chunk();
      return Ok{};
    default:
      return Error{0, "standard input is neither a pipe, a terminal nor a file"};
  }
  if (rc != 0) return Error{0, "cannot read standard input: " + uv_message(rc)};
  in_stream_->data = this;
  rc = start_reading();
  if (rc != 0) return Error{0, "cannot read standard input: " + uv_message(rc)};
  return Ok{};
}

int StdioTransport::start_reading() {
  return uv_read_start(in_stream_, alloc_buffer, [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
    static_cast<StdioTransport*>(s->data)->on_read(n, b);
  });
}

void StdioTransport::pause_input() {
  if (in_stream_ == nullptr || input_done_ || closed_ || input_paused_) return;
  uv_read_stop(in_stream_);
  input_paused_ = true;
}

void StdioTransport::resume_input() {
  if (!input_paused_) return;
  input_paused_ = false;
  if (in_stream_ != nullptr && !input_done_ && !closed_) start_reading();
}

Status StdioTransport::open_output() {
  out_type_ = uv_guess_handle(out_fd_);
  int rc = 0;
  switch (out_type_) {
    case UV_NAMED_PIPE:
    case UV_TCP:
      rc = uv_pipe_init(loop_, out_pipe_.get(), 0);
      if (rc == 0) out_pipe_.mark_initialized(), rc = uv_pipe_open(out_pipe_.get(), out_fd_);
      out_stream_ = out_pipe_.stream();
      break;
    case UV_TTY:
      rc = uv_tty_init(loop_, out_tty_.get(), out_fd_, 0);
      if (rc == 0) out_tty_.mark_initialized();
      out_stream_ = out_tty_.stream();
      break;
    case UV_FILE:
      return Ok{};  // written synchronously
    default:
      return Error{0, "standard output is neither a pipe, a terminal nor a file"};
  }
  if (rc != 0) return Error{0, "cannot write standard output: " + uv_message(rc)};
  out_stream_->data = this;
  return Ok{};
}

void StdioTransport::on_read(ssize_t nread, const uv_buf_t* buf) {
  std::unique_ptr<char[]> owned(buf->base);
  if (nread > 0) {
    decoder_.append(std::string_view(buf->base, static_cast<size_t>(nread)));
    deliver_frames();
  } else if (nread < 0) {
    if (nread != UV_EOF) log::warn("reading standard input: " + uv_message(static_cast<int>(nread)));
    input_ended();
  }
}

void StdioTransport::deliver_frames() {
  cork();
  while (!closed_) {
    std::optional<Frame> f = decoder_.next();
    if (!f) break;
    handler_->on_frame(std::move(*f));
  }
  if (!closed_) handler_->on_frames_done();
  uncork();
}

void StdioTransport::read_file_chunk() {
  static constexpr size_t kChunk = 64 * 1024;
  file_buffer_.resize(kChunk);
  uv_buf_t buf = uv_buf_init(file_buffer_.data(), kChunk);
  int rc = uv_fs_read(loop_, file_read_.get(), in_fd_, &buf, 1, -1, [](uv_fs_t* req) {
    auto* self = static_cast<StdioTransport*>(req->data);
    const ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (self->closed_) return;
    if (n > 0) {
      self->decoder_.append(std::string_view(self->file_buffer_.data(), static_cast<size_t>(n)));
      self->deliver_frames();
      if (!self->closed_ && !self->input_done_) self->read_file_chunk();
    } else {
      self->input_ended();
    }
  });
  if (rc != 0) input_ended();
}

void StdioTransport::input_ended() {
  if (input_done_) return;
  input_done_ = true;
  if (in_stream_ != nullptr && in_type_ != UV_FILE) uv_read_stop(in_stream_);
  cork();
  if (std::optional<Frame> tail = decoder_.finish()) handler_->on_frame(std::move(*tail));
  handler_->on_input_end();
  uncork();
}

void StdioTransport::send(std::string_view body) {
  if (output_broken_) return;
  if (cork_depth_ > 0) {
    corked_ += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    corked_.append(body);
    return;
  }
  write_now(frame(body));
}

void StdioTransport::uncork() {
  if (cork_depth_ > 0 && --cork_depth_ == 0 && !corked_.empty()) {
    std::string data;
    data.swap(corked_);
    write_now(std::move(data));
  }
}

void StdioTransport::write_now(std::string data) {
  if (output_broken_ || data.empty()) return;
  if (out_stream_ == nullptr) {
    // A regular file: write synchronously.
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(out_fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        log::error(std::string("writing standard output: ") + std::strerror(errno));
        output_broken_ = true;
        return;
      }
      done += static_cast<size_t>(n);
    }
    return;
  }
  auto* req = new WriteRequest;
  req->data = std::move(data);
  req->owner = this;
  req->req.data = req;
  queued_bytes_ += req->data.size();
  uv_buf_t buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  int rc = uv_write(&req->req, out_stream_, &buf, 1, [](uv_write_t* w, int status) {
    auto* r = static_cast<WriteRequest*>(w->data);
    r->owner->on_write_done(r, status);
  });
  if (rc != 0) on_write_done(req, rc);
}

void StdioTransport::on_write_done(WriteRequest* req, int status) {
  std::unique_ptr<WriteRequest> owned(req);
  const bool was_high = queued_bytes_ >= low_water_;
  queued_bytes_ -= req->data.size();
  if (status != 0 && status != UV_ECANCELED && !output_broken_) {
    // The client stopped reading for good (EPIPE): nobody is left to serve.
    log::error("writing standard output: " + uv_message(status));
    output_broken_ = true;
    if (!input_done_) input_ended();
    return;
  }
  if (was_high && queued_bytes_ < low_water_ && !closed_) handler_->on_writable();
}

void StdioTransport::close() {
  if (closed_) return;
  closed_ = true;
  if (in_stream_ != nullptr && !input_done_) uv_read_stop(in_stream_);
  in_pipe_.close();
  in_tty_.close();
  out_pipe_.close();
  out_tty_.close();
}

}  // namespace subcell
