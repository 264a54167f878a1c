// xi::Backend: the channel operations a session's `_subcell_xi` module
// needs, whatever the channels live in. In the server process it is the
// Registry itself (xi/registry.h); in a worker process it is a proxy that
// asks the server's registry over the worker's connection
// (server/upstream.h). Blocking calls are made with the caller's GIL
// released; they end early when `Wait::stop` fires (an interrupt, or the
// session closing) or at `Wait::deadline`.
//
// Owners: every hold on a channel end belongs to an owner, one per
// interpreter (a session, a child interpreter) or connection (the client).
// A wait ends with kClosed (EOFError) when the channel is closed, or when
// some other owner held the other end and no other owner holds it any more
// (FIFO semantics: the writers went away).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>

#include "support/result.h"
#include "xi/value.h"

namespace subcell::xi {

enum class Status {
  kOk,       // sent and received / a value was received
  kEmpty,    // nowait: nobody was receiving / nothing was offered
  kTimeout,  // the deadline passed
  kStopped,  // the stop token fired
  kClosed,   // the channel is closed, or its other side has gone: EOFError
};

struct Wait {
  std::stop_token stop;
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Told when a received value has been consumed: a sender of borrowed data
// waits for this before it may let its object go.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void done() = 0;
};

struct Received {
  Value value;
  std::shared_ptr<Completion> completion;

  Received() = default;
  Received(Received&&) = default;
  Received& operator=(Received&& other) noexcept {
    if (this != &other) {
      done();
      value = std::move(other.value);
      completion = std::move(other.completion);
    }
    return *this;
  }
  ~Received() { done(); }
  // The receiver has built its own object from `value`.
  void done() {
    if (completion) std::exchange(completion, nullptr)->done();
  }
};

class Backend {
 public:
  virtual ~Backend() = default;

  // A new owner (an interpreter); `label` is for logs ("nb", "nb/1").
  virtual OwnerId new_owner(const std::string& label) = 0;
  // The owner has gone: every hold it had is dropped at once.
  virtual void release_owner(OwnerId owner) = 0;

  // A new anonymous channel / the channel named `name` (created on first
  // use); the owner holds both of its ends once.
  virtual Result<ChannelId> create(OwnerId owner) = 0;
  virtual Result<ChannelId> open(const std::string& name, OwnerId owner) = 0;
  // One more (delta > 0) or one less end object of `side` in `owner`.
  virtual void hold(ChannelId channel, Side side, OwnerId owner, int delta) = 0;
  // A Value carrying an end, counted as held while in flight.
  virtual Value end_value(ChannelId channel, Side side) = 0;
  // A received end becomes `receiver`'s (one hold).
  virtual void adopt_end(const Value& end, OwnerId receiver) = 0;

  // Rendezvous: returns once a receiver took the value (kOk).
  virtual Status send(ChannelId channel, OwnerId owner, Value&& value, const Wait& wait) = 0;
  // kOk when a receiver was waiting and took it, kEmpty otherwise.
  virtual Status send_nowait(ChannelId channel, OwnerId owner, Value&& value) = 0;
  virtual Status recv(ChannelId channel, OwnerId owner, const Wait& wait, Received& out) = 0;
  virtual Status recv_nowait(ChannelId channel, OwnerId owner, Received& out) = 0;
  // Closes the channel for everyone.
  virtual void close(ChannelId channel) = 0;

  // Whether buffers are lent (same process) or copied (across processes).
  virtual bool shares_memory() const = 0;
};

// The process's backend: the Registry, unless set_backend() chose another
// (a worker process does, before any session starts).
Backend& backend();
void set_backend(Backend* backend);

}  // namespace subcell::xi
