#include "core/ip.h"

#include <catch2/catch.hpp>
#include <string>

namespace keel::core {
namespace {

unsigned __int128 V6Bits(uint64_t hi, uint64_t lo) {
  return Ipv6::FromHalves(hi, lo).bits();
}

TEST_CASE("Ipv4 parses dotted quads and prints them back") {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "1.2.3.4", "10.0.0.1",
                           "192.168.100.200", "100.64.0.0"}) {
    auto a = Ipv4::Parse(text);
    REQUIRE(a.ok());
    CHECK(a->ToString() == text);
  }
  CHECK(Ipv4::Parse("1.2.3.4")->bits() == 0x01020304u);
  CHECK(Ipv4::Parse("255.255.255.255")->bits() == 0xffffffffu);
  CHECK(Ipv4(0x0a000001).ToString() == "10.0.0.1");
}

TEST_CASE("Ipv4 refuses bad text with the reason and the text") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (auto [text, reason] : {
           Case{"", "empty"},
           Case{"1.2.3", "fewer than four parts"},
           Case{"1.2.3.4.5", "more than four parts"},
           Case{"1..3.4", "a part is empty"},
           Case{".1.2.3", "a part is empty"},
           Case{"1.2.3.", "a part is empty"},
           Case{"1.2.3.256", "greater than 255"},
           Case{"1.2.3.1000", "more than three digits"},
           Case{"01.2.3.4", "leading zero"},
           Case{"1.2.3.00", "leading zero"},
           Case{"1.2.3.4 ", "other than 0-9"},
           Case{"1.2.x.4", "other than 0-9"},
           Case{"-1.2.3.4", "other than 0-9"},
           Case{"1,2.3.4", "other than 0-9"},
       }) {
    auto a = Ipv4::Parse(text);
    INFO(text);
    REQUIRE_FALSE(a.ok());
    std::string message(a.status().message());
    CHECK(message.find(reason) != std::string::npos);
    CHECK(message.find(std::string("\"") + text + "\"") != std::string::npos);
  }
}

TEST_CASE("Ipv6 parses every RFC 4291 form") {
  struct Case {
    const char* text;
    unsigned __int128 bits;
  };
  for (auto [text, bits] : {
           Case{"::", 0},
           Case{"::1", 1},
           Case{"1::", V6Bits(0x0001000000000000, 0)},
           Case{"2001:db8::", V6Bits(0x20010db800000000, 0)},
           Case{"2001:DB8::1", V6Bits(0x20010db800000000, 1)},
           Case{"2001:0db8:0000:0000:0000:0000:0000:0001",
                V6Bits(0x20010db800000000, 1)},
           Case{"1:2:3:4:5:6:7:8",
                V6Bits(0x0001000200030004, 0x0005000600070008)},
           Case{"1:2:3:4:5:6:7::",
                V6Bits(0x0001000200030004, 0x0005000600070000)},
           Case{"::2:3:4:5:6:7:8",
                V6Bits(0x0000000200030004, 0x0005000600070008)},
           Case{"1:0:0:4::8", V6Bits(0x0001000000000004, 0x0000000000000008)},
           Case{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                ~static_cast<unsigned __int128>(0)},
           Case{"::ffff:1.2.3.4", V6Bits(0, 0x0000ffff01020304)},
           Case{"::1.2.3.4", V6Bits(0, 0x01020304)},
           Case{"64:ff9b::1.2.3.4", V6Bits(0x0064ff9b00000000, 0x01020304)},
           Case{"1:2:3:4:5:6:1.2.3.4",
                V6Bits(0x0001000200030004, 0x0005000601020304)},
           Case{"1::5:6:255.255.255.255",
                V6Bits(0x0001000000000000, 0x00050006ffffffff)},
           Case{"fE80::aBcD", V6Bits(0xfe80000000000000, 0xabcd)},
       }) {
    INFO(text);
    auto a = Ipv6::Parse(text);
    REQUIRE(a.ok());
    CHECK(a->bits() == bits);
  }
}

TEST_CASE("Ipv6 prints RFC 5952 text that parses back") {
  struct Case {
    const char* in;
    const char* out;
  };
  for (auto [in, out] : {
           Case{"::", "::"},
           Case{"0:0:0:0:0:0:0:1", "::1"},
           Case{"1:0:0:0:0:0:0:0", "1::"},
           Case{"2001:0DB8:0:0:0:0:0:1", "2001:db8::1"},
           Case{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // no single
           Case{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // longest
           Case{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // first tie
           Case{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
           Case{"0:0:1:0:0:0:1:0", "0:0:1::1:0"},
           Case{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
           Case{"0:0:0:0:0:ffff:0102:0304", "::ffff:1.2.3.4"},
           Case{"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
           Case{"::1.2.3.4", "::102:304"},
           Case{"fe80:0000::00ff", "fe80::ff"},
           Case{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
       }) {
    INFO(in);
    auto a = Ipv6::Parse(in);
    REQUIRE(a.ok());
    CHECK(a->ToString() == out);
    auto back = Ipv6::Parse(a->ToString());
    REQUIRE(back.ok());
    CHECK(*back == *a);
  }
}

TEST_CASE("Ipv6 text round-trips for addresses with every zero pattern") {
  // Each of the 256 patterns of zero and non-zero groups.
  for (unsigned pattern = 0; pattern < 256; ++pattern) {
    unsigned __int128 bits = 0;
    for (int g = 0; g < 8; ++g) {
      bits = bits << 16 | ((pattern >> g) & 1 ? 0x100u + g : 0u);
    }
    Ipv6 a(bits);
    auto back = Ipv6::Parse(a.ToString());
    INFO(a.ToString());
    REQUIRE(back.ok());
    CHECK(*back == a);
  }
}

TEST_CASE("Ipv6 refuses bad text with the reason") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (auto [text, reason] : {
           Case{"", "empty"},
           Case{":", "single ':'"},
           Case{":1::", "single ':'"},
           Case{"1:", "ends with a single ':'"},
           Case{":::", "more than two ':'"},
           Case{"1:::2", "more than two ':'"},
           Case{"1::2::3", "more than one"},
           Case{"1:2:3:4:5:6:7", "fewer than eight groups"},
           Case{"1:2:3:4:5:6:7:8:9", "more than eight groups"},
           Case{"1:2:3:4::5:6:7:8", "eight groups besides"},
           Case{"12345::", "more than four hex digits"},
           Case{"1:g::", "other than 0-9, a-f"},
           Case{"1:2 ::", "other than 0-9, a-f"},
           Case{"fe80::1%eth0", "zone indices"},
           Case{"::1.2.3", "embedded IPv4"},
           Case{"::1.2.3.256", "embedded IPv4"},
           Case{"1:2:3:4:5:6:7:1.2.3.4", "no room"},
           Case{"::1.2.3.4:5", "embedded IPv4"},
       }) {
    INFO(text);
    auto a = Ipv6::Parse(text);
    REQUIRE_FALSE(a.ok());
    std::string message(a.status().message());
    CHECK(message.find(reason) != std::string::npos);
    CHECK(message.find("IPv6") != std::string::npos);
  }
}

TEST_CASE("IpAddress parses either family and orders IPv4 first") {
  auto v4 = IpAddress::Parse("255.255.255.255");
  auto v6 = IpAddress::Parse("::");
  REQUIRE(v4.ok());
  REQUIRE(v6.ok());
  CHECK(v4->is_v4());
  CHECK(v6->is_v6());
  CHECK(*v4 < *v6);
  CHECK(v4->ToString() == "255.255.255.255");
  CHECK(v6->ToString() == "::");
  CHECK(IpAddress(Ipv4(5)) < IpAddress(Ipv4(6)));
  CHECK(IpAddress(Ipv6(5)) < IpAddress(Ipv6(6)));
  CHECK(IpAddress(Ipv4(0x01020304)) !=
        IpAddress(Ipv6::MappedFrom(Ipv4(0x01020304))));
  CHECK_FALSE(IpAddress::Parse("1.2.3").ok());
  CHECK_FALSE(IpAddress::Parse("1::2::3").ok());
  CHECK_FALSE(IpAddress::Parse("").ok());
}

TEST_CASE("Prefix parses, masks, contains and prints") {
  auto p = Prefix::Parse("2001:db8::/32");
  REQUIRE(p.ok());
  CHECK(p->length() == 32);
  CHECK_FALSE(p->is_v4());
  CHECK(p->ToString() == "2001:db8::/32");
  CHECK(p->Contains(*IpAddress::Parse("2001:db8:ffff::1")));
  CHECK_FALSE(p->Contains(*IpAddress::Parse("2001:db9::")));
  CHECK_FALSE(p->Contains(*IpAddress::Parse("32.1.13.184")));
  CHECK(p->Contains(*Prefix::Parse("2001:db8:1::/48")));
  CHECK(p->Contains(*p));
  CHECK_FALSE(p->Contains(*Prefix::Parse("2001::/16")));
  CHECK(p->Last().ToString() == "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");

  auto v4 = Prefix::Parse("10.0.0.0/8");
  REQUIRE(v4.ok());
  CHECK(v4->is_v4());
  CHECK(v4->Contains(*IpAddress::Parse("10.255.255.255")));
  CHECK_FALSE(v4->Contains(*IpAddress::Parse("11.0.0.0")));
  CHECK(v4->Last().ToString() == "10.255.255.255");

  auto all = Prefix::Parse("0.0.0.0/0");
  REQUIRE(all.ok());
  CHECK(all->Contains(*IpAddress::Parse("255.255.255.255")));
  CHECK(all->Last().ToString() == "255.255.255.255");
  auto all6 = Prefix::Parse("::/0");
  REQUIRE(all6.ok());
  CHECK(all6->Contains(*IpAddress::Parse("ffff::")));
  CHECK(Prefix::Parse("1.2.3.4/32")->Last().ToString() == "1.2.3.4");
  CHECK(Prefix::Parse("::1/128")->Contains(*IpAddress::Parse("::1")));

  auto masked = Prefix::Parse("10.1.2.3/8", /*mask_host_bits=*/true);
  REQUIRE(masked.ok());
  CHECK(masked->ToString() == "10.0.0.0/8");
  auto made = Prefix::Make(*IpAddress::Parse("2001:db8::1"), 64, true);
  REQUIRE(made.ok());
  CHECK(made->ToString() == "2001:db8::/64");
  CHECK_FALSE(Prefix::Make(*IpAddress::Parse("2001:db8::1"), 64).ok());
  CHECK_FALSE(Prefix::Make(*IpAddress::Parse("1.2.3.4"), 33).ok());
  CHECK_FALSE(Prefix::Make(*IpAddress::Parse("1.2.3.4"), -1).ok());

  CHECK(*Prefix::Parse("10.0.0.0/8") < *Prefix::Parse("10.0.0.0/16"));
  CHECK(*Prefix::Parse("10.0.0.0/16") < *Prefix::Parse("11.0.0.0/8"));
  CHECK(*Prefix::Parse("255.0.0.0/8") < *Prefix::Parse("::/0"));
}

TEST_CASE("Prefix::Covering is the masked Prefix::Make at every length") {
  for (const char* text :
       {"203.0.113.77", "255.255.255.255", "0.0.0.0",
        "2001:db8:85a3::8a2e:370:7334", "ffff::ffff", "::"}) {
    IpAddress address = *IpAddress::Parse(text);
    for (int length = 0; length <= address.bit_width(); ++length) {
      INFO(text << "/" << length);
      CHECK(Prefix::Covering(address, length) ==
            *Prefix::Make(address, length, /*mask_host_bits=*/true));
    }
  }
  static_assert(Prefix::Covering(Ipv4(0xc0000201u), 24) ==
                Prefix::Covering(Ipv4(0xc0000200u), 24));
}

TEST_CASE("Prefix refuses bad text with the reason") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (auto [text, reason] : {
           Case{"10.0.0.0", "no '/length'"},
           Case{"10.0.0.0/", "empty length"},
           Case{"10.0.0.0/33", "greater than 32"},
           Case{"::/129", "greater than 128"},
           Case{"10.0.0.0/1234", "more than three digits"},
           Case{"10.0.0.0/08", "leading zero"},
           Case{"10.0.0.0/8x", "other than 0-9"},
           Case{"10.0.0.0/-8", "other than 0-9"},
           Case{"10.0.0.1/8", "bits set past the length"},
           Case{"2001:db8::1/32", "bits set past the length"},
           Case{"10.0.0/8", "fewer than four parts"},
           Case{"1::2::/8", "more than one"},
       }) {
    INFO(text);
    auto p = Prefix::Parse(text);
    REQUIRE_FALSE(p.ok());
    std::string message(p.status().message());
    CHECK(message.find(reason) != std::string::npos);
    CHECK(message.find(text) != std::string::npos);
  }
}

TEST_CASE("the types hold no heap and stay small") {
  static_assert(sizeof(Ipv4) == 4);
  static_assert(sizeof(Ipv6) == 16);
  static_assert(std::is_trivially_copyable_v<IpAddress>);
  static_assert(std::is_trivially_copyable_v<Prefix>);
  CHECK(sizeof(Prefix) <= 48);
}

}  // namespace
}  // namespace keel::core
