#include "core/ip.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace keel::core {
namespace {

// The parsers report a reason as a static string (nullptr on success), so
// the common path builds no message; the error text is built out of line.
using Reason = const char*;

[[gnu::cold, gnu::noinline]] absl::Status ParseError(std::string_view what,
                                                     std::string_view text,
                                                     std::string_view why) {
  constexpr size_t kMaxQuoted = 100;
  std::string_view shown = text.substr(0, kMaxQuoted);
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid ", absl::string_view(what.data(), what.size()), " \"",
      absl::CHexEscape(absl::string_view(shown.data(), shown.size())),
      text.size() > kMaxQuoted ? "...\"" : "\"", ": ",
      absl::string_view(why.data(), why.size())));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Reason ParseV4(std::string_view text, uint32_t* out) {
  if (text.empty()) return "empty";
  uint32_t bits = 0;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i == text.size()) return "fewer than four parts";
      if (text[i] != '.') return "a part holds a character other than 0-9";
      ++i;
    }
    size_t start = i;
    uint32_t value = 0;
    while (i < text.size() && IsDigit(text[i])) {
      if (i - start == 3) return "a part has more than three digits";
      value = value * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    if (i == start) {
      if (i < text.size() && text[i] != '.') {
        return "a part holds a character other than 0-9";
      }
      return "a part is empty";
    }
    if (text[start] == '0' && i - start > 1) {
      return "a part has a leading zero (octal or decimal is ambiguous)";
    }
    if (value > 255) return "a part is greater than 255";
    bits = bits << 8 | value;
  }
  if (i != text.size()) {
    return text[i] == '.' ? "more than four parts"
                          : "a part holds a character other than 0-9";
  }
  *out = bits;
  return nullptr;
}

Reason ParseV6(std::string_view text, unsigned __int128* out) {
  uint16_t groups[8];
  int count = 0;
  int gap = -1;  // where "::" stands, as a group index
  size_t i = 0;
  const size_t n = text.size();
  if (n == 0) return "empty";
  if (text[0] == ':') {
    if (n < 2 || text[1] != ':') return "starts with a single ':'";
    gap = 0;
    i = 2;
  }
  while (i < n) {
    size_t start = i;
    uint32_t value = 0;
    int digit;
    while (i < n && (digit = HexValue(text[i])) >= 0) {
      if (i - start == 4) return "a group has more than four hex digits";
      value = value << 4 | static_cast<uint32_t>(digit);
      ++i;
    }
    if (i < n && text[i] == '.') {
      if (count > 6) return "an embedded IPv4 address leaves no room";
      uint32_t v4;
      if (ParseV4(text.substr(start), &v4) != nullptr) {
        return "the embedded IPv4 address is not a valid dotted quad";
      }
      groups[count++] = static_cast<uint16_t>(v4 >> 16);
      groups[count++] = static_cast<uint16_t>(v4);
      i = n;
      break;
    }
    if (i == start) {
      if (i < n && text[i] == ':') return "more than two ':' in a row";
      if (i < n && text[i] == '%') return "zone indices are not supported";
      return "a group holds a character other than 0-9, a-f, ':' or '.'";
    }
    if (count == 8) return "more than eight groups";
    groups[count++] = static_cast<uint16_t>(value);
    if (i == n) break;
    if (text[i] != ':') {
      if (text[i] == '%') return "zone indices are not supported";
      return "a group holds a character other than 0-9, a-f, ':' or '.'";
    }
    ++i;
    if (i == n) return "ends with a single ':'";
    if (text[i] == ':') {
      if (gap >= 0) return "more than one \"::\"";
      gap = count;
      ++i;
    }
  }
  if (gap < 0 && count != 8) return "fewer than eight groups and no \"::\"";
  if (gap >= 0 && count == 8) return "\"::\" with eight groups besides";
  // Groups after "::" belong at the end: the zeros fill between.
  unsigned __int128 bits = 0;
  int tail = gap < 0 ? 0 : count - gap;
  for (int g = 0; g < 8; ++g) {
    int from = g < 8 - tail ? g : g - (8 - count);
    bool zero = gap >= 0 && g >= gap && g < 8 - tail;
    bits = bits << 16 | (zero ? 0 : groups[from]);
  }
  *out = bits;
  return nullptr;
}

// Writes `bits` as a dotted quad at `p`; returns the end.
char* WriteV4(uint32_t bits, char* p) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned part = (bits >> shift) & 0xff;
    if (part >= 100) *p++ = static_cast<char>('0' + part / 100);
    if (part >= 10) *p++ = static_cast<char>('0' + part / 10 % 10);
    *p++ = static_cast<char>('0' + part % 10);
    if (shift != 0) *p++ = '.';
  }
  return p;
}

char* WriteGroup(unsigned group, char* p) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    unsigned digit = (group >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      *p++ = kHex[digit];
      started = true;
    }
  }
  return p;
}

unsigned __int128 HostMask(int width, int length) {
  // The bits past `length` within a `width`-bit address.
  unsigned __int128 all =
      width == 128 ? ~static_cast<unsigned __int128>(0)
                   : (static_cast<unsigned __int128>(1) << width) - 1;
  if (length >= width) return 0;  // shifting by 128 is undefined
  return all >> length;
}

}  // namespace

absl::StatusOr<Ipv4> Ipv4::Parse(std::string_view text) {
  uint32_t bits;
  if (Reason why = ParseV4(text, &bits)) {
    return ParseError("IPv4 address", text, why);
  }
  return Ipv4(bits);
}

std::string Ipv4::ToString() const {
  char buffer[16];
  return std::string(buffer, WriteV4(bits_, buffer));
}

absl::StatusOr<Ipv6> Ipv6::Parse(std::string_view text) {
  unsigned __int128 bits;
  if (Reason why = ParseV6(text, &bits)) {
    return ParseError("IPv6 address", text, why);
  }
  return Ipv6(bits);
}

std::string Ipv6::ToString() const {
  char buffer[48];
  char* p = buffer;
  if (is_v4_mapped()) {
    std::memcpy(p, "::ffff:", 7);
    return std::string(buffer, WriteV4(static_cast<uint32_t>(lo()), p + 7));
  }
  unsigned groups[8];
  for (int g = 0; g < 8; ++g) {
    groups[g] = static_cast<unsigned>(bits_ >> (16 * (7 - g))) & 0xffff;
  }
  // The longest run of two or more zero groups; the first on a tie.
  int best_start = -1, best_length = 1;
  for (int g = 0; g < 8;) {
    if (groups[g] != 0) {
      ++g;
      continue;
    }
    int start = g;
    while (g < 8 && groups[g] == 0) ++g;
    if (g - start > best_length) {
      best_start = start;
      best_length = g - start;
    }
  }
  for (int g = 0; g < 8; ++g) {
    if (g == best_start) {
      *p++ = ':';
      *p++ = ':';
      g += best_length - 1;
      continue;
    }
    if (g != 0 && g != best_start + best_length) *p++ = ':';
    p = WriteGroup(groups[g], p);
  }
  return std::string(buffer, p);
}

absl::StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    unsigned __int128 bits;
    if (Reason why = ParseV6(text, &bits)) {
      return ParseError("IPv6 address", text, why);
    }
    return IpAddress(Ipv6(bits));
  }
  uint32_t bits;
  if (Reason why = ParseV4(text, &bits)) {
    return ParseError("IPv4 address", text, why);
  }
  return IpAddress(Ipv4(bits));
}

std::string IpAddress::ToString() const {
  return v6_ ? v6().ToString() : v4().ToString();
}

absl::StatusOr<Prefix> Prefix::Parse(std::string_view text,
                                     bool mask_host_bits) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return ParseError("prefix", text, "no '/length'");
  }
  std::string_view address_text = text.substr(0, slash);
  IpAddress address;
  if (address_text.find(':') != std::string_view::npos) {
    unsigned __int128 bits;
    if (Reason why = ParseV6(address_text, &bits)) {
      return ParseError("prefix", text, why);
    }
    address = Ipv6(bits);
  } else {
    uint32_t bits;
    if (Reason why = ParseV4(address_text, &bits)) {
      return ParseError("prefix", text, why);
    }
    address = Ipv4(bits);
  }
  std::string_view digits = text.substr(slash + 1);
  int length = 0;
  if (digits.empty()) return ParseError("prefix", text, "empty length");
  if (digits.size() > 3) {
    return ParseError("prefix", text, "length has more than three digits");
  }
  for (char c : digits) {
    if (!IsDigit(c)) {
      return ParseError("prefix", text,
                        "length holds a character other than 0-9");
    }
    length = length * 10 + (c - '0');
  }
  if (digits.size() > 1 && digits[0] == '0') {
    return ParseError("prefix", text, "length has a leading zero");
  }
  if (length > address.bit_width()) {
    return ParseError("prefix", text,
                      address.is_v4() ? "length is greater than 32"
                                      : "length is greater than 128");
  }
  if (!mask_host_bits &&
      (address.bits() & HostMask(address.bit_width(), length)) != 0) {
    return ParseError("prefix", text, "address has bits set past the length");
  }
  return Make(address, length, /*mask_host_bits=*/true);
}

absl::StatusOr<Prefix> Prefix::Make(IpAddress address, int length,
                                    bool mask_host_bits) {
  int width = address.bit_width();
  if (length < 0 || length > width) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid prefix length ", length, " for ",
                     address.ToString(), ": must be 0..", width));
  }
  unsigned __int128 host = HostMask(width, length);
  if ((address.bits() & host) != 0) {
    if (!mask_host_bits) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid prefix ", address.ToString(), "/", length,
                       ": address has bits set past the length"));
    }
    address =
        address.is_v4()
            ? IpAddress(Ipv4(static_cast<uint32_t>(address.bits() & ~host)))
            : IpAddress(Ipv6(address.bits() & ~host));
  }
  return Prefix(address, length);
}

IpAddress Prefix::Last() const {
  unsigned __int128 host = HostMask(address_.bit_width(), length_);
  if (address_.is_v4()) {
    return Ipv4(static_cast<uint32_t>(address_.bits() | host));
  }
  return Ipv6(address_.bits() | host);
}

bool Prefix::Contains(const IpAddress& address) const {
  if (address.is_v4() != address_.is_v4()) return false;
  unsigned __int128 host = HostMask(address_.bit_width(), length_);
  return (address.bits() & ~host) == address_.bits();
}

bool Prefix::Contains(const Prefix& other) const {
  return other.length_ >= length_ && Contains(other.address_);
}

std::string Prefix::ToString() const {
  return absl::StrCat(address_.ToString(), "/", length_);
}

}  // namespace keel::core
