// IP address and prefix value types: Ipv4, Ipv6, IpAddress (either family)
// and Prefix (an address plus a length).
//
// Use them wherever an address crosses an API: they parse the text forms
// people and feeds write, print canonical text, and compare as numbers. They
// are small values with no heap; copy them freely.
//
//   auto a = keel::core::IpAddress::Parse("2001:DB8::0:1");
//   if (!a.ok()) return a.status();     // says what is wrong, quotes the text
//   a->ToString();                      // "2001:db8::1" (RFC 5952)
//   auto p = keel::core::Prefix::Parse("2001:db8::/32");
//   p->Contains(*a);                    // true
//
// Text accepted:
// - IPv4: a strict dotted quad, four decimal parts 0..255. A part with a
//   leading zero ("01.2.3.4") is refused: inet_aton reads it as octal, other
//   parsers as decimal, so the text is ambiguous.
// - IPv6: every RFC 4291 form: eight groups of 1-4 hex digits (any case), one
//   "::" for a run of zero groups, and a trailing dotted quad in place of the
//   last two groups ("::ffff:1.2.3.4", "64:ff9b::1.2.3.4"). Zone indices
//   ("fe80::1%eth0") are refused: they name an interface, not an address.
// Text printed: IPv4 dotted quad; IPv6 per RFC 5952 (lowercase, no leading
// zeros, the longest run of two or more zero groups as "::", the first on a
// tie, and "::ffff:a.b.c.d" for IPv4-mapped addresses).
//
// Thread safety: immutable values; any number of threads may share them.
#ifndef KEEL_CORE_IP_H_
#define KEEL_CORE_IP_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keel::core {

class Ipv4 {
 public:
  static constexpr int kBits = 32;

  constexpr Ipv4() = default;
  constexpr explicit Ipv4(uint32_t bits) : bits_(bits) {}

  static absl::StatusOr<Ipv4> Parse(std::string_view text);

  // The address as a number, most significant octet first (1.2.3.4 is
  // 0x01020304).
  constexpr uint32_t bits() const { return bits_; }
  std::string ToString() const;

  friend constexpr auto operator<=>(const Ipv4&, const Ipv4&) = default;
  friend constexpr bool operator==(const Ipv4&, const Ipv4&) = default;

 private:
  uint32_t bits_ = 0;
};

class Ipv6 {
 public:
  static constexpr int kBits = 128;

  constexpr Ipv6() = default;
  constexpr explicit Ipv6(unsigned __int128 bits) : bits_(bits) {}
  static constexpr Ipv6 FromHalves(uint64_t hi, uint64_t lo) {
    return Ipv6((static_cast<unsigned __int128>(hi) << 64) | lo);
  }
  // ::ffff:a.b.c.d, the IPv4-mapped form of `v4`.
  static constexpr Ipv6 MappedFrom(Ipv4 v4) {
    return FromHalves(0, 0xffff00000000ull | v4.bits());
  }

  static absl::StatusOr<Ipv6> Parse(std::string_view text);

  // The address as a number, first group most significant.
  constexpr unsigned __int128 bits() const { return bits_; }
  constexpr uint64_t hi() const { return static_cast<uint64_t>(bits_ >> 64); }
  constexpr uint64_t lo() const { return static_cast<uint64_t>(bits_); }
  constexpr bool is_v4_mapped() const {
    return hi() == 0 && (lo() >> 32) == 0xffff;
  }
  std::string ToString() const;

  friend constexpr auto operator<=>(const Ipv6&, const Ipv6&) = default;
  friend constexpr bool operator==(const Ipv6&, const Ipv6&) = default;

 private:
  unsigned __int128 bits_ = 0;
};

// An IPv4 or an IPv6 address. IPv4 addresses order before IPv6 ones; an
// IPv4-mapped IPv6 address is an IPv6 address, distinct from its IPv4 one.
class IpAddress {
 public:
  constexpr IpAddress() = default;  // 0.0.0.0
  constexpr IpAddress(Ipv4 v4)      // NOLINT: an Ipv4 is an IpAddress
      : v6_(false), bits_(v4.bits()) {}
  constexpr IpAddress(Ipv6 v6)  // NOLINT: an Ipv6 is an IpAddress
      : v6_(true), bits_(v6.bits()) {}

  // Either family: IPv6 when the text holds a ':'.
  static absl::StatusOr<IpAddress> Parse(std::string_view text);

  constexpr bool is_v4() const { return !v6_; }
  constexpr bool is_v6() const { return v6_; }
  // REQUIRES: is_v4().
  constexpr Ipv4 v4() const { return Ipv4(static_cast<uint32_t>(bits_)); }
  // REQUIRES: is_v6().
  constexpr Ipv6 v6() const { return Ipv6(bits_); }
  // 32 or 128.
  constexpr int bit_width() const { return v6_ ? 128 : 32; }
  // The address as a number in its family's width.
  constexpr unsigned __int128 bits() const { return bits_; }
  std::string ToString() const;

  friend constexpr auto operator<=>(const IpAddress&,
                                    const IpAddress&) = default;
  friend constexpr bool operator==(const IpAddress&,
                                   const IpAddress&) = default;

 private:
  bool v6_ = false;  // first: orders IPv4 before IPv6
  unsigned __int128 bits_ = 0;
};

// A network: an address and a prefix length, 0..32 for IPv4, 0..128 for
// IPv6, with every bit past the length zero. Orders by address, then length.
class Prefix {
 public:
  constexpr Prefix() = default;  // 0.0.0.0/0

  // "address/length". With mask_host_bits, bits past the length are cleared;
  // without, text with such bits set ("10.0.0.1/8") is an error.
  static absl::StatusOr<Prefix> Parse(std::string_view text,
                                      bool mask_host_bits = false);
  static absl::StatusOr<Prefix> Make(IpAddress address, int length,
                                     bool mask_host_bits = false);
  // The prefix of `length` bits that holds `address` (its host bits
  // cleared), without a Status: for lengths the caller already knows are
  // valid, on hot paths. REQUIRES: 0 <= length <= address.bit_width().
  static constexpr Prefix Covering(IpAddress address, int length) {
    int host_bits = address.bit_width() - length;
    unsigned __int128 network =
        host_bits >= 128 ? 0 : address.bits() >> host_bits << host_bits;
    return address.is_v4()
               ? Prefix(Ipv4(static_cast<uint32_t>(network)), length)
               : Prefix(Ipv6(network), length);
  }

  constexpr const IpAddress& address() const { return address_; }
  constexpr int length() const { return length_; }
  constexpr bool is_v4() const { return address_.is_v4(); }
  // The last address the prefix covers (all host bits set).
  IpAddress Last() const;
  bool Contains(const IpAddress& address) const;
  // True when `other` is this prefix or a more specific one inside it.
  bool Contains(const Prefix& other) const;
  std::string ToString() const;  // "2001:db8::/32"

  friend constexpr auto operator<=>(const Prefix&, const Prefix&) = default;
  friend constexpr bool operator==(const Prefix&, const Prefix&) = default;

 private:
  constexpr Prefix(IpAddress address, int length)
      : address_(address), length_(static_cast<uint8_t>(length)) {}

  IpAddress address_;
  uint8_t length_ = 0;
};

}  // namespace keel::core

#endif  // KEEL_CORE_IP_H_
