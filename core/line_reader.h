// LineReader: reads a text file line by line, plain or gzip-compressed,
// telling which by the content (the gzip magic bytes), not by the name.
//
// Use it for every loader of line-oriented feeds (TSV, CSV, prefix lists),
// so they all accept .gz files and name the file and line in their errors.
//
//   auto reader = keel::core::LineReader::Open("ip2asn-v4.tsv.gz");
//   if (!reader.ok()) return reader.status();
//   std::string_view line;
//   while (reader->Next(&line)) {
//     ... reader->line_number() is line's number, from 1 ...
//   }
//   if (!reader->status().ok()) return reader->status();  // read error
//
// Lines lose their "\n" and a "\r" before it; a last line without "\n"
// still counts. Concatenated gzip members read as one stream.
//
// Thread safety: none; one reader per thread.
#ifndef KEEL_CORE_LINE_READER_H_
#define KEEL_CORE_LINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::core {

namespace core_internal {
class ByteSource;
}  // namespace core_internal

class LineReader {
 public:
  // A line longer than this is an error: binary garbage must not grow the
  // buffer without bound.
  static constexpr size_t kMaxLineBytes = 1 << 20;

  // Opens `path`; an error names the path and the reason.
  static absl::StatusOr<LineReader> Open(std::string_view path);

  LineReader(LineReader&&) noexcept;
  LineReader& operator=(LineReader&&) noexcept;
  ~LineReader();

  // Sets *line to the next line and returns true, or returns false at the
  // end of input or on an error (then status() says which). *line stays
  // valid until the next call.
  bool Next(std::string_view* line);

  // The number of the line Next returned last, from 1.
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }
  bool is_gzip() const { return gzip_; }
  // OK, or the read or decompression error, naming the file and line.
  const absl::Status& status() const { return status_; }

 private:
  LineReader(std::string path, bool gzip,
             std::unique_ptr<core_internal::ByteSource> source);
  // Moves the unread tail to the front and reads more; false at the end or
  // on an error.
  bool Fill();

  std::string path_;
  bool gzip_ = false;
  std::unique_ptr<core_internal::ByteSource> source_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // unread bytes are [begin_, end_)
  size_t end_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
  absl::Status status_;
};

}  // namespace keel::core

#endif  // KEEL_CORE_LINE_READER_H_
