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
// still counts. Concatenated gzip members read as one stream. Pipes and
// other unseekable files (/dev/stdin) read like regular ones.
//
// Every input is bounded: a line longer than Options::max_line_bytes, a
// read error and a failed allocation each end the reading with an error in
// status(), never as the end of the file, so a caller that checks status()
// cannot mistake a cut-off input for a whole one.
//
// Thread safety: none; one reader per thread.
#ifndef KEEL_CORE_IO_LINE_READER_H_
#define KEEL_CORE_IO_LINE_READER_H_

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
  // The default longest line: feeds and import files have lines of a few
  // hundred bytes, and binary garbage must not grow the buffer without
  // bound.
  static constexpr size_t kMaxLineBytes = 1 << 20;

  struct Options {
    // A longer line (without its "\n") is an error naming the file, the
    // line number and this limit. The reader holds up to about twice this.
    size_t max_line_bytes = kMaxLineBytes;
    // The buffer's first size (it grows for longer lines): large for feeds,
    // small where memory is counted (keel lookup on stdin).
    size_t buffer_bytes = 1 << 20;
  };

  // Opens `path`; an error names the path and the reason.
  static absl::StatusOr<LineReader> Open(std::string_view path,
                                         const Options& options);
  static absl::StatusOr<LineReader> Open(std::string_view path) {
    return Open(path, Options());
  }
  // Reads the open descriptor `fd`, which it takes and closes, naming it
  // `name` in errors (stdin: `FromDescriptor(dup(0), "stdin", ...)`).
  static absl::StatusOr<LineReader> FromDescriptor(int fd, std::string name,
                                                   const Options& options);

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
  // OK, or the error that ended the reading (a read or decompression
  // error, a line over the limit, no memory), naming the file and line.
  const absl::Status& status() const { return status_; }

 private:
  LineReader(std::string path, const Options& options,
             std::unique_ptr<core_internal::ByteSource> source);
  // Moves the unread tail to the front and reads more; false at the end or
  // on an error.
  bool Fill();
  // Sets status_ to the error for the line after the last one returned.
  bool LineTooLong();

  std::string path_;
  size_t max_line_bytes_;
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

#endif  // KEEL_CORE_IO_LINE_READER_H_
