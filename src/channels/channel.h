// Channel<T>: a bounded, multi-producer, closeable FIFO between threads.
//
// Sessions hand everything they produce (output, displays, results) to the
// event loop through one of these, so ordering is the order of sends.
// Bounded by a cost (bytes, for output), not a count: when full, send()
// blocks the producer instead of growing or dropping (backpressure). An item
// costlier than the whole capacity is still accepted into an empty channel,
// so one huge write cannot deadlock.
//
// Traits may merge an item into the queue's tail (e.g. consecutive writes to
// the same stream), which is how output is coalesced before the consumer
// sees it. Sending on a closed channel fails with kClosed, like EOFError for
// PEP 554 channels; closing wakes every blocked sender and receiver.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>
#include <vector>

namespace subcell {

template <typename T>
struct DefaultChannelTraits {
  static std::size_t cost(const T&) { return 1; }
  static bool merge(T& /*tail*/, T& /*incoming*/) { return false; }
};

enum class SendStatus {
  kSent,     // the item is in the channel
  kFull,     // try_send only: no room, nothing sent
  kClosed,   // the channel is closed, nothing sent
  kStopped,  // the stop token fired while waiting for room, nothing sent
};

struct SendInfo {
  SendStatus status = SendStatus::kSent;
  bool was_empty = false;       // the channel was empty before this send
  std::size_t pending_cost = 0;  // queued cost after this send
};

template <typename T, typename Traits = DefaultChannelTraits<T>>
class Channel {
 public:
  explicit Channel(std::size_t capacity) : capacity_(capacity) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends without waiting; kFull when there is no room.
  SendInfo try_send(T&& item) {
    std::lock_guard lock(mutex_);
    return push_locked(std::move(item), /*wait_allowed=*/false);
  }

  // Sends, waiting while the channel is full. The wait ends early (kStopped)
  // when `stop` is requested, so an interrupted cell is not stuck behind a
  // slow reader.
  SendInfo send(T&& item, std::stop_token stop = {}) {
    std::unique_lock lock(mutex_);
    const std::size_t c = Traits::cost(item);
    ++waiting_senders_;
    const bool room = not_full_.wait(lock, stop, [&] { return closed_ || has_room_locked(c); });
    --waiting_senders_;
    if (!room) return {SendStatus::kStopped, false, pending_};
    return push_locked(std::move(item), /*wait_allowed=*/true);
  }

  // Grows the queue's tail in place when `extend(tail)` accepts: it returns
  // the cost it added, 0 to refuse (wrong kind of item, no room in it).
  // The fast path for coalescing: no item is built when the tail can take
  // the data. Refused (kFull) when the channel is empty, closed, or full.
  template <typename Extend>
  SendInfo try_extend_tail(std::size_t cost, Extend&& extend) {
    std::lock_guard lock(mutex_);
    if (closed_ || queue_.empty() || pending_ + cost > capacity_) return {SendStatus::kFull, false, pending_};
    const std::size_t added = extend(queue_.back().item);
    if (added == 0) return {SendStatus::kFull, false, pending_};
    queue_.back().cost += added;
    pending_ += added;
    return {SendStatus::kSent, false, pending_};
  }

  // Moves every queued item (up to about `max_cost`, at least one) into `out`.
  // Returns how many were moved. Never blocks.
  std::size_t drain(std::vector<T>& out, std::size_t max_cost = static_cast<std::size_t>(-1)) {
    std::size_t moved = 0;
    {
      std::lock_guard lock(mutex_);
      std::size_t taken = 0;
      while (!queue_.empty() && (moved == 0 || taken < max_cost)) {
        taken += queue_.front().cost;
        pending_ -= queue_.front().cost;
        out.push_back(std::move(queue_.front().item));
        queue_.pop_front();
        ++moved;
      }
      if (moved == 0 || waiting_senders_ == 0) return moved;
    }
    not_full_.notify_all();
    return moved;
  }

  // Waits for one item; nullopt once the channel is closed and empty, or
  // when `stop` is requested.
  std::optional<T> receive(std::stop_token stop = {}) {
    std::unique_lock lock(mutex_);
    if (!not_empty_.wait(lock, stop, [&] { return closed_ || !queue_.empty(); })) return std::nullopt;
    if (queue_.empty()) return std::nullopt;
    Entry e = std::move(queue_.front());
    queue_.pop_front();
    pending_ -= e.cost;
    const bool wake = waiting_senders_ > 0;
    lock.unlock();
    if (wake) not_full_.notify_all();
    return std::move(e.item);
  }

  // Refuses further sends and wakes everyone waiting. Items already queued
  // can still be drained.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  bool empty() const {
    std::lock_guard lock(mutex_);
    return queue_.empty();
  }
  std::size_t pending_cost() const {
    std::lock_guard lock(mutex_);
    return pending_;
  }

 private:
  struct Entry {
    T item;
    std::size_t cost;
  };

  bool has_room_locked(std::size_t c) const { return queue_.empty() || pending_ + c <= capacity_; }

  SendInfo push_locked(T&& item, bool wait_allowed) {
    if (closed_) return {SendStatus::kClosed, false, pending_};
    const std::size_t c = Traits::cost(item);
    if (!wait_allowed && !has_room_locked(c)) return {SendStatus::kFull, false, pending_};
    const bool was_empty = queue_.empty();
    if (!was_empty && Traits::merge(queue_.back().item, item)) {
      // A merged item costs what the merged whole costs, not the sum of
      // its parts (per-item overhead is paid once).
      Entry& tail = queue_.back();
      const std::size_t merged = Traits::cost(tail.item);
      pending_ = pending_ - tail.cost + merged;
      tail.cost = merged;
    } else {
      queue_.push_back(Entry{std::move(item), c});
      pending_ += c;
    }
    const SendInfo info{SendStatus::kSent, was_empty, pending_};
    if (was_empty) not_empty_.notify_all();
    return info;
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable_any not_full_;
  std::condition_variable_any not_empty_;
  std::deque<Entry> queue_;
  std::size_t pending_ = 0;
  std::size_t waiting_senders_ = 0;
  bool closed_ = false;
};

}  // namespace subcell
