// StdioTransport: the server's byte pipe to its client, on a libuv loop.
//
// Reads frames from one fd and writes framed bodies to another. Knows bytes
// and frames, nothing about JSON. Pipes, sockets and terminals are driven
// by libuv; a regular file as input is read with uv_fs_read and as output is
// written synchronously. Loop thread only.
//
// Output is "corked" while the server handles a batch of events, so several
// replies leave in one write(2). queued_bytes() is the backpressure signal:
// the server stops draining session output while the client is not reading.
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "support/result.h"
#include "support/uv_handle.h"
#include "transport/frame_decoder.h"

namespace subcell {

class StdioTransport {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_frame(Frame frame) = 0;
    virtual void on_input_end() = 0;  // end of input, or the client went away
    virtual void on_writable() = 0;   // queued output fell below the low mark
    virtual void on_frames_done() {}  // after the frames of one read
  };

  static constexpr std::size_t kHighWater = 4u << 20;

  // `high_water`: queued output above which above_high_water() holds; the
  // handler hears on_writable() once it is back under a quarter of it.
  StdioTransport(uv_loop_t* loop, int in_fd, int out_fd, std::size_t max_body, std::size_t high_water = kHighWater);
  ~StdioTransport();
  StdioTransport(const StdioTransport&) = delete;
  StdioTransport& operator=(const StdioTransport&) = delete;

  Status start(Handler* handler);

  // Frames and queues one message body.
  void send(std::string_view body);
  void cork() { ++cork_depth_; }
  void uncork();

  // Stops reading input until resume_input() (backpressure towards the
  // peer: what it writes waits in the kernel, then in the peer).
  void pause_input();
  void resume_input();

  std::size_t queued_bytes() const { return queued_bytes_; }
  bool above_high_water() const { return queued_bytes_ >= high_water_; }
  FrameDecoder& decoder() { return decoder_; }

  // Stops reading and closes the handles (after queued output is written).
  void close();

 private:
  struct WriteRequest;
  Status open_input();
  Status open_output();
  int start_reading();
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void deliver_frames();
  void read_file_chunk();
  void write_now(std::string data);
  void on_write_done(WriteRequest* req, int status);
  void input_ended();

  uv_loop_t* loop_;
  int in_fd_;
  int out_fd_;
  const std::size_t high_water_;
  const std::size_t low_water_;
  Handler* handler_ = nullptr;
  FrameDecoder decoder_;

  uv_handle_type in_type_ = UV_UNKNOWN_HANDLE;
  uv_handle_type out_type_ = UV_UNKNOWN_HANDLE;
  UvHandle<uv_pipe_t> in_pipe_;
  UvHandle<uv_tty_t> in_tty_;
  UvHandle<uv_pipe_t> out_pipe_;
  UvHandle<uv_tty_t> out_tty_;
  uv_stream_t* in_stream_ = nullptr;
  uv_stream_t* out_stream_ = nullptr;
  std::unique_ptr<uv_fs_t> file_read_;
  std::string file_buffer_;

  std::string corked_;
  int cork_depth_ = 0;
  std::size_t queued_bytes_ = 0;
  bool input_done_ = false;
  bool input_paused_ = false;
  bool output_broken_ = false;
  bool closed_ = false;
};

}  // namespace subcell
