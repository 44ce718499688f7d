// Gzip: `text` compressed as one gzip member, for tests that feed gzip
// inputs (files, HTTP bodies) to readers that inflate them.
//
//   WriteFile(path, Gzip("a\nb\n") + Gzip("c\n"));  // two members
#ifndef KEEL_TESTS_TESTING_GZIP_H_
#define KEEL_TESTS_TESTING_GZIP_H_

#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

namespace keel::testing {

inline std::string Gzip(std::string_view text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace keel::testing

#endif  // KEEL_TESTS_TESTING_GZIP_H_
