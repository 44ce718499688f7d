// keel serve's lookup tables survive their image file being cut or
// rewritten in place while the server runs (issue 13, finding 5): the image
// is copied at load, so the answers stay those of the file as loaded.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "core/ranges/range_table_builder.h"
#include "tests/testing/temp_dir.h"
#include "tools/server/lookup_api.h"

namespace keel::tools {
namespace {

const std::string kData = KEEL_TEST_DATA_DIR;

std::vector<std::string> Answers(const LookupApi& api) {
  std::vector<std::string> out;
  for (const char* ip : {"1.0.0.1", "1.0.4.1", "8.8.8.8", "2001::1", "::"}) {
    HttpRequest request;
    request.params = {{"ip", ip}};
    HttpResponse response = api.LookupOne(request);
    out.push_back(std::to_string(response.status) + " " + response.body);
  }
  return out;
}

TEST_CASE(
    "keel serve answers from its image after the file is cut or "
    "rewritten") {
  testing::TempDir dir("lookup_api_image_test");
  auto table = core::LoadRangeTable(
      {kData + "/ip2asn-v4-sample.tsv", kData + "/ip2asn-v6-sample.tsv"},
      core::OverlapPolicy::kError);
  REQUIRE(table.ok());
  std::string path = dir.File("live.keel");
  REQUIRE(table->Save(path).ok());

  auto api = LookupApi::Load({path}, "");
  REQUIRE(api.ok());
  const std::vector<std::string> want = Answers(**api);
  CHECK(want[0].rfind("200 ", 0) == 0);

  // `truncate -s 8192 live.keel`: a mapped image's next lookup dies of
  // SIGBUS.
  REQUIRE(truncate(path.c_str(), 8192) == 0);
  CHECK(Answers(**api) == want);
  // `cp garbage live.keel`: the same inode rewritten.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string(1 << 20, '\x5a');
  }
  CHECK(Answers(**api) == want);
}

}  // namespace
}  // namespace keel::tools
