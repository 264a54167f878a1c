// FrameDecoder: bytes in, LSP base-protocol frames out.
//
// Pure and bounded: no I/O, no JSON. Feed it whatever read(2) returned;
// pull complete bodies and framing errors with next(). Hostile input costs
// at most max_header bytes of buffer (garbage) or nothing: a Content-Length
// over the limit is refused as soon as its header is read (with the body's
// first bytes, so the caller can still find the request id to answer), and
// the body is skipped as it streams past, up to its declared end or to the
// next frame header, whichever comes first.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace subcell {

struct Frame {
  enum class Kind {
    kBody,      // `body` holds a complete message body
    kGarbage,   // `skipped` bytes were not a frame (bad or missing header)
    kTooLarge,  // a body of `declared` bytes exceeds the limit; it is being skipped
    kTruncated, // input ended `skipped` bytes into a frame (finish() only)
  };
  Kind kind = Kind::kBody;
  std::string body;            // kBody: the body; kTooLarge: its first bytes received so far
  std::size_t skipped = 0;     // kGarbage/kTruncated: bytes dropped
  std::size_t declared = 0;    // kTooLarge/kTruncated: the Content-Length
  std::string reason;          // kGarbage: what was wrong, for the error reply
};

class FrameDecoder {
 public:
  static constexpr std::size_t kDefaultMaxBody = 64u << 20;
  static constexpr std::size_t kDefaultMaxHeader = 8u << 10;
  static constexpr std::size_t kTooLargePrefix = 4096;

  explicit FrameDecoder(std::size_t max_body = kDefaultMaxBody,
                        std::size_t max_header = kDefaultMaxHeader);

  // Appends raw input.
  void append(std::string_view bytes);

  // The next complete frame or framing error, or nullopt when more input is
  // needed.
  std::optional<Frame> next();

  // At end of input: reports a frame that was cut short, if any.
  std::optional<Frame> finish();

  // A body turned out not to be JSON. If it contains the start of another
  // frame (a client that sent a short Content-Length runs into its next
  // message), put that part back in front of the input so the next message
  // is not lost. Returns how many leading bytes of `body` are really lost.
  std::size_t recover_from_bad_body(std::string_view body);

 private:
  enum class State { kHeader, kBody, kSkipBody };

  std::optional<Frame> next_header();
  std::optional<Frame> next_body();
  std::optional<Frame> next_skip();

  const std::size_t max_body_;
  const std::size_t max_header_;
  State state_ = State::kHeader;
  std::string buffer_;          // unconsumed input
  std::size_t want_ = 0;        // kBody/kSkipBody: body bytes still expected
  std::size_t declared_ = 0;    // the current frame's Content-Length
};

// Case-insensitive search for "content-length:" in `text`; npos if absent.
std::size_t find_content_length_header(std::string_view text);

}  // namespace subcell
