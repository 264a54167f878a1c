// Sessions of the real engine (sessions/, real CPython, own-GIL
// interpreters on their own threads), driven in-process for the channel
// and child-interpreter tests: open, run a cell (waiting, or not), read
// what each session printed.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>

#include "sessions/session_manager.h"

namespace subcell::testing {

class XiHarness final : public SessionListener {
 public:
  XiHarness() : manager_(*this, options()) {}
  ~XiHarness() override { manager_.close_all(); }

  Session& open(const std::string& id) {
    OpenOptions o;
    o.id = id;
    auto opened = manager_.open(o);
    REQUIRE(opened.ok());
    return *opened->session;
  }

  // Starts a cell; its outcome comes through the future.
  std::future<RunOutcome> start(Session& s, const std::string& code, JobId* id = nullptr) {
    const JobId job = Session::next_job_id();
    std::future<RunOutcome> f;
    {
      std::lock_guard lock(mutex_);
      f = results_[job].get_future();
    }
    if (id != nullptr) *id = job;
    REQUIRE(s.submit(RunJob{job, code, {}}));
    return f;
  }

  RunOutcome run(Session& s, const std::string& code, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto f = start(s, code);
    REQUIRE(f.wait_for(timeout) == std::future_status::ready);
    return f.get();
  }

  // The text/plain of a cell's value; fails the test on an error.
  std::string value(Session& s, const std::string& code) {
    RunOutcome r = run(s, code);
    INFO(code);
    INFO((r.error ? r.error->traceback : std::string()));
    REQUIRE_FALSE(r.error);
    if (!r.value) return "None";
    for (const MimeEntry& m : *r.value) {
      if (m.mime == "text/plain") return m.data;
    }
    return "?";
  }

  std::string out(Session& s) {
    std::lock_guard lock(mutex_);
    return out_[s.serial];
  }

  void close(Session& s) { manager_.close(s); }
  std::vector<SessionSummary> list() { return manager_.list(); }

  void on_session_events(Session& s, bool) override {
    std::vector<SessionEvent> events;
    s.events().drain(events);
    std::lock_guard lock(mutex_);
    for (SessionEvent& e : events) {
      if (auto* o = std::get_if<StreamOutput>(&e)) {
        out_[s.serial] += o->text;
      } else if (auto* done = std::get_if<JobDone>(&e)) {
        auto it = results_.find(done->job);
        if (it == results_.end()) continue;
        if (auto* run = std::get_if<RunOutcome>(&done->outcome)) {
          it->second.set_value(std::move(*run));
        } else {
          RunOutcome failed;
          ErrorInfo& e = failed.error.emplace();
          e.type = "JobFailed";
          e.message = "the job did not run";
          e.traceback = "the job did not run\n";
          it->second.set_value(std::move(failed));
        }
        results_.erase(it);
      }
    }
  }

 private:
  static SessionOptions options() {
    SessionOptions o;
    o.close_grace = std::chrono::milliseconds(2000);
    return o;
  }

  std::mutex mutex_;
  std::map<std::uint64_t, std::string> out_;
  std::map<JobId, std::promise<RunOutcome>> results_;
  SessionManager manager_;  // last: closed first
};

inline std::string text_of(const RunOutcome& r) {
  if (r.error) return "error: " + r.error->type + ": " + r.error->message;
  if (!r.value) return "None";
  for (const MimeEntry& m : *r.value) {
    if (m.mime == "text/plain") return m.data;
  }
  return "?";
}

}  // namespace subcell::testing
