#include "transport/frame_decoder.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace subcell {
namespace {

constexpr std::string_view kTerminator = "\r\n\r\n";
constexpr std::string_view kContentLength = "content-length";

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// One "Name: value" header line (without CRLF)?
bool is_header_line(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  return std::all_of(line.begin(), line.begin() + colon, is_token_char);
}

struct ParsedHeader {
  bool ok = false;
  std::size_t length = 0;
  std::string reason;
};

// Parses a header block (lines separated by CRLF, no terminator).
ParsedHeader parse_header_block(std::string_view block) {
  ParsedHeader out;
  bool have_length = false;
  while (!block.empty()) {
    std::size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
    if (!is_header_line(line)) {
      out.reason = "malformed header line";
      return out;
    }
    const std::size_t colon = line.find(':');
    if (!iequals(trim(line.substr(0, colon)), kContentLength)) continue;  // other headers are ignored
    std::string_view value = trim(line.substr(colon + 1));
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
      out.reason = "Content-Length is not a non-negative integer";
      return out;
    }
    if (have_length && n != out.length) {
      out.reason = "conflicting Content-Length headers";
      return out;
    }
    have_length = true;
    out.length = n;
  }
  if (!have_length) {
    out.reason = "header has no Content-Length";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace

std::size_t find_content_length_header(std::string_view text) {
  constexpr std::string_view needle = "content-length:";
  if (text.size() < needle.size()) return std::string_view::npos;
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (lower(text[i]) == 'c' && iequals(text.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

FrameDecoder::FrameDecoder(std::size_t max_body, std::size_t max_header)
    : max_body_(max_body), max_header_(max_header) {}

void FrameDecoder::append(std::string_view bytes) { buffer_.append(bytes); }

std::optional<Frame> FrameDecoder::next() {
  switch (state_) {
    case State::kHeader: return next_header();
    case State::kBody: return next_body();
    case State::kSkipBody: return next_skip();
  }
  return std::nullopt;
}

std::optional<Frame> FrameDecoder::next_header() {
  // Blank lines between frames are tolerated, not reported.
  std::size_t lead = buffer_.find_first_not_of("\r\n");
  if (lead == std::string::npos) lead = buffer_.size();
  if (lead > 0) buffer_.erase(0, lead);
  if (buffer_.empty()) return std::nullopt;

  const std::size_t end = buffer_.find(kTerminator);
  if (end == std::string::npos) {
    if (buffer_.size() <= max_header_) return std::nullopt;  // wait for the rest
    // Too long to be a header: drop it, but keep a real header that starts
    // inside it, and a tail that might be the start of one.
    std::size_t keep = find_content_length_header(std::string_view(buffer_).substr(1));
    keep = keep == std::string::npos ? buffer_.size() - (kContentLength.size() + 1) : keep + 1;
    Frame f{Frame::Kind::kGarbage};
    f.skipped = keep;
    f.reason = "no frame header in the first " + std::to_string(max_header_) + " bytes";
    buffer_.erase(0, keep);
    return f;
  }

  std::string_view block(buffer_.data(), end);
  ParsedHeader header = parse_header_block(block);
  if (!header.ok) {
    // Garbage in front of a real header: drop only the garbage.
    const std::size_t real = find_content_length_header(block);
    const std::size_t drop = (real != std::string::npos && real > 0) ? real : end + kTerminator.size();
    Frame f{Frame::Kind::kGarbage};
    f.skipped = drop;
    f.reason = header.reason;
    buffer_.erase(0, drop);
    return f;
  }

  buffer_.erase(0, end + kTerminator.size());
  declared_ = header.length;
  want_ = header.length;
  if (header.length > max_body_) {
    // Refused at once, whatever the number: a client that declares 2^63
    // bytes and then sends its next message must not wait on this one. The
    // reply carries what the body's start says of its id; the body is then
    // skipped up to its declared end or to the next frame header in it,
    // whichever comes first (a JSON body cannot hold a valid header).
    state_ = State::kSkipBody;
    Frame f{Frame::Kind::kTooLarge};
    f.declared = declared_;
    f.body.assign(buffer_, 0, std::min({buffer_.size(), kTooLargePrefix, want_}));
    return f;
  }
  state_ = State::kBody;
  return next_body();
}

std::optional<Frame> FrameDecoder::next_body() {
  if (buffer_.size() < want_) return std::nullopt;
  Frame f{Frame::Kind::kBody};
  if (buffer_.size() == want_) {
    f.body.swap(buffer_);
  } else {
    f.body.assign(buffer_, 0, want_);
    buffer_.erase(0, want_);
  }
  state_ = State::kHeader;
  want_ = 0;
  return f;
}

std::optional<Frame> FrameDecoder::next_skip() {
  const std::size_t limit = std::min(want_, buffer_.size());
  std::size_t droppable = limit;  // leading bytes that are surely body
  for (std::size_t from = 0;;) {
    const std::size_t at = find_content_length_header(std::string_view(buffer_).substr(from, limit - from));
    if (at == std::string_view::npos) break;
    const std::size_t start = from + at;
    const std::size_t end = buffer_.find(kTerminator, start);
    if (end == std::string::npos) {
      // Maybe a header still arriving: keep it until it is complete.
      if (buffer_.size() - start <= max_header_) droppable = start;
      break;
    }
    if (parse_header_block(std::string_view(buffer_).substr(start, end - start)).ok) {
      buffer_.erase(0, start);  // resynchronised on the next frame
      want_ = 0;
      state_ = State::kHeader;
      return next_header();
    }
    from = start + 1;
  }
  // A tail that could be the start of "Content-Length:" waits too.
  if (droppable == buffer_.size() && droppable < want_) {
    droppable = droppable > kContentLength.size() ? droppable - kContentLength.size() : 0;
  }
  buffer_.erase(0, droppable);
  want_ -= droppable;
  if (want_ > 0) return std::nullopt;
  state_ = State::kHeader;
  return next_header();
}

std::optional<Frame> FrameDecoder::finish() {
  if (state_ == State::kSkipBody) {  // already answered as too large
    buffer_.clear();
    state_ = State::kHeader;
    return std::nullopt;
  }
  if (state_ == State::kBody) {
    Frame f{Frame::Kind::kTruncated};
    f.declared = declared_;
    f.skipped = buffer_.size();
    buffer_.clear();
    state_ = State::kHeader;
    return f;
  }
  std::size_t lead = buffer_.find_first_not_of("\r\n");
  if (lead == std::string::npos) {
    buffer_.clear();
    return std::nullopt;
  }
  Frame f{Frame::Kind::kTruncated};
  f.skipped = buffer_.size();
  buffer_.clear();
  return f;
}

std::size_t FrameDecoder::recover_from_bad_body(std::string_view body) {
  // Called right after next() returned `body`, so the decoder is between
  // frames and the put-back bytes go in front of what it has not read yet.
  if (state_ != State::kHeader) return body.size();
  constexpr std::string_view needle = "content-length:";
  // The next frame's header starts inside the body: either all of
  // "Content-Length:" is in it, or the body ends with its beginning and the
  // unread input continues it.
  for (std::size_t at = 0; at < body.size(); ++at) {
    if (lower(body[at]) != 'c') continue;
    std::string candidate(body.substr(at, needle.size()));
    if (candidate.size() < needle.size()) candidate.append(buffer_, 0, needle.size() - candidate.size());
    if (candidate.size() == needle.size() && iequals(candidate, needle)) {
      buffer_.insert(0, body.substr(at));
      return at;
    }
  }
  return body.size();
}

}  // namespace subcell
