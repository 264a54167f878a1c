// libFuzzer target: arbitrary bytes through the frame decoder and the
// JSON-RPC envelope parser, as `subcell serve` reads them, in arbitrary
// read sizes. Nothing may crash, hang or grow without bound.
//
//   cmake -DSUBCELL_FUZZ=ON (clang), then: build-sanitize/tests/fuzz_frames -max_total_time=30
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rpc/message.h"
#include "transport/frame_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxBody = 4096, kMaxHeader = 512;
  subcell::FrameDecoder decoder(kMaxBody, kMaxHeader);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the read size, so splits land everywhere.
  const std::size_t step = size > 0 ? 1 + data[0] % 64 : 1;
  for (std::size_t at = 0; at < input.size(); at += step) {
    decoder.append(input.substr(at, step));
    while (auto frame = decoder.next()) {
      if (frame->kind == subcell::Frame::Kind::kBody) {
        if (frame->body.size() > kMaxBody) std::abort();
        auto parsed = subcell::rpc::parse_message(frame->body);
        if (std::holds_alternative<subcell::rpc::BadMessage>(parsed)) decoder.recover_from_bad_body(frame->body);
      } else if (frame->kind == subcell::Frame::Kind::kTooLarge) {
        (void)subcell::rpc::sniff_request_id(frame->body);
      }
    }
  }
  (void)decoder.finish();
  return 0;
}
