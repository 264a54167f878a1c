// Sessions run in parallel on their own GIL. Prints the speed-up; asserts
// only what does not depend on the machine's speed: that the two cells'
// running times overlapped.
#include <catch2/catch.hpp>

#include <cstdio>

#include "server_process.h"

using namespace subcell::testing;

namespace {

constexpr const char* kCpuBound =
    "import time\n"
    "start = time.monotonic()\n"
    "total = 0\n"
    "for i in range(6_000_000):\n"
    "    total += i * i\n"
    "(start, time.monotonic())";

std::pair<double, double> interval(const Json& result) {
  std::string text = text_of(result["value"]);  // "(start, end)"
  double a = 0, b = 0;
  std::sscanf(text.c_str(), "(%lf, %lf)", &a, &b);
  return {a, b};
}

}  // namespace

TEST_CASE("two CPU-bound cells in two sessions run at the same time") {
  ServerProcess server;
  const std::string a = server.open_session({{"session", "a"}});
  const std::string b = server.open_session({{"session", "b"}});
  // Warm up both sessions.
  server.result("cell/run", {{"session", a}, {"code", "1"}});
  server.result("cell/run", {{"session", b}, {"code", "1"}});

  // In sequence.
  const auto [s1, e1] = interval(server.result("cell/run", {{"session", a}, {"code", kCpuBound}}, 120s));
  const auto [s2, e2] = interval(server.result("cell/run", {{"session", b}, {"code", kCpuBound}}, 120s));
  const double sequential = (e1 - s1) + (e2 - s2);

  // In parallel.
  Json ra = server.send_request("cell/run", {{"session", a}, {"code", kCpuBound}});
  Json rb = server.send_request("cell/run", {{"session", b}, {"code", kCpuBound}});
  const auto [pa_start, pa_end] = interval(server.wait_response(ra, 120s)["result"]);
  const auto [pb_start, pb_end] = interval(server.wait_response(rb, 120s)["result"]);
  const double parallel = std::max(pa_end, pb_end) - std::min(pa_start, pb_start);

  std::printf("parallel sessions: sequential %.3f s, parallel %.3f s, speed-up %.2fx\n", sequential, parallel,
              sequential / parallel);
  CHECK(pa_start < pb_end);
  CHECK(pb_start < pa_end);
}
