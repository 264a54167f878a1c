// UvHandle<H>: owns one libuv handle.
//
// libuv handles may only be freed after their close callback has run, so
// the handle lives on the heap and is deleted in that callback; the owner
// only asks for the close. The owning loop must keep running until the
// callback fires (Loop shutdown spins until uv_loop_close stops saying
// UV_EBUSY). Loop thread only.
#pragma once

#include <uv.h>

#include <utility>

namespace subcell {

template <typename H>
class UvHandle {
 public:
  UvHandle() : handle_(new H{}) {}
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  H* get() const { return handle_; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(handle_); }

  // Call once uv_*_init succeeded: from then on the handle must be closed
  // through libuv rather than simply deleted.
  void mark_initialized() { initialized_ = true; }
  bool initialized() const { return initialized_ && handle_ != nullptr; }

  void close() {
    H* h = std::exchange(handle_, nullptr);
    if (h == nullptr) return;
    if (!initialized_) {
      delete h;
      return;
    }
    auto* base = reinterpret_cast<uv_handle_t*>(h);
    if (uv_is_closing(base)) return;  // someone else closed it; its callback frees it
    uv_close(base, [](uv_handle_t* closed) { delete reinterpret_cast<H*>(closed); });
  }

 private:
  H* handle_;
  bool initialized_ = false;
};

}  // namespace subcell
