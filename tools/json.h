// JsonObject: writes one flat or nested JSON object, for the commands that
// print JSON and the server's answers. Numbers print so that they parse back
// exactly; strings are escaped per RFC 8259.
//
//   JsonObject o;
//   o.Add("rows", 12).Add("name", "x").AddRaw("after", inner.str());
//   std::puts(o.str().c_str());            // {"rows":12,"name":"x",...}
//
// Thread safety: none; one per answer.
#ifndef KEEL_TOOLS_JSON_H_
#define KEEL_TOOLS_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::tools {

// `text` as a quoted, escaped JSON string.
std::string JsonQuote(std::string_view text);
// A double as JSON: shortest round-trip form; NaN and infinities as null.
std::string JsonNumber(double value);

class JsonObject {
 public:
  JsonObject& Add(std::string_view key, double value);
  JsonObject& Add(std::string_view key, uint64_t value);
  JsonObject& Add(std::string_view key, int64_t value);
  JsonObject& Add(std::string_view key, int value) {
    return Add(key, static_cast<int64_t>(value));
  }
  JsonObject& Add(std::string_view key, unsigned value) {
    return Add(key, static_cast<uint64_t>(value));
  }
  JsonObject& Add(std::string_view key, std::string_view value);
  JsonObject& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonObject& Add(std::string_view key, bool value);
  // `json` must already be valid JSON (an object, array, null, ...).
  JsonObject& AddRaw(std::string_view key, std::string_view json);

  std::string str() const { return body_ + "}"; }

 private:
  void AppendKey(std::string_view key);
  std::string body_ = "{";
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_JSON_H_
