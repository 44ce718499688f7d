// IP address and prefix text (core/ip.h): every form Parse accepts prints
// canonical text that parses back to the same value, the families agree
// with IpAddress::Parse, and addresses agree with glibc's inet_pton, which
// refuses the same leading zeros and zone indices.
#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "core/ip.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using keel::core::IpAddress;
using keel::core::Ipv4;
using keel::core::Ipv6;
using keel::core::Prefix;

void CheckAddress(std::string_view text) {
  auto any = IpAddress::Parse(text);
  auto v4 = Ipv4::Parse(text);
  auto v6 = Ipv6::Parse(text);
  FUZZ_CHECK(!(v4.ok() && v6.ok())) << "both families: " << text;
  FUZZ_CHECK(any.ok() == (v4.ok() || v6.ok())) << text;
  if (v4.ok()) FUZZ_CHECK(*any == IpAddress(*v4)) << text;
  if (v6.ok()) FUZZ_CHECK(*any == IpAddress(*v6)) << text;
  if (any.ok()) {
    std::string printed = any->ToString();
    auto again = IpAddress::Parse(printed);
    FUZZ_CHECK(again.ok() && *again == *any) << text << " -> " << printed;
    FUZZ_CHECK(again->ToString() == printed) << printed;
  }

  // inet_pton reads a C string: only texts without a NUL compare.
  if (text.find('\0') != std::string_view::npos || text.size() > 64) return;
  std::string c(text);
  unsigned char buf[16];
  bool pton4 = inet_pton(AF_INET, c.c_str(), buf) == 1;
  FUZZ_CHECK(pton4 == v4.ok()) << "inet_pton AF_INET " << pton4 << ": " << c;
  if (pton4) {
    uint32_t bits = uint32_t{buf[0]} << 24 | uint32_t{buf[1]} << 16 |
                    uint32_t{buf[2]} << 8 | buf[3];
    FUZZ_CHECK(v4->bits() == bits) << c;
  }
  bool pton6 = inet_pton(AF_INET6, c.c_str(), buf) == 1;
  FUZZ_CHECK(pton6 == v6.ok()) << "inet_pton AF_INET6 " << pton6 << ": " << c;
  if (pton6) {
    unsigned __int128 bits = 0;
    for (unsigned char b : buf) bits = bits << 8 | b;
    FUZZ_CHECK(v6->bits() == bits) << c;
  }
}

void CheckPrefix(std::string_view text) {
  auto strict = Prefix::Parse(text);
  auto masked = Prefix::Parse(text, /*mask_host_bits=*/true);
  if (strict.ok()) {
    FUZZ_CHECK(masked.ok() && *masked == *strict) << text;
  }
  if (!masked.ok()) return;
  const Prefix& p = *masked;
  FUZZ_CHECK(p.length() >= 0 && p.length() <= p.address().bit_width()) << text;
  std::string printed = p.ToString();
  auto again = Prefix::Parse(printed);
  FUZZ_CHECK(again.ok() && *again == p) << text << " -> " << printed;
  FUZZ_CHECK(p.Contains(p.address()) && p.Contains(p.Last())) << printed;
  FUZZ_CHECK(p.address() <= p.Last()) << printed;
  FUZZ_CHECK(Prefix::Covering(p.Last(), p.length()) == p) << printed;
  FUZZ_CHECK(p.Contains(p)) << printed;
  auto made = Prefix::Make(p.address(), p.length());
  FUZZ_CHECK(made.ok() && *made == p) << printed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = keel::fuzz::AsText(data, size);
  CheckAddress(text);
  CheckPrefix(text);
  return 0;
}
