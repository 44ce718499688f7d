// `keel prefix` end to end: the built binary on the committed fixtures.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

namespace {

struct Run {
  std::string out;  // stdout and stderr together
  int code;
};

Run Keel(const std::string& arguments, const std::string& stdin_text = "") {
  std::string command =
      stdin_text.empty() ? "" : "printf '" + stdin_text + "' | ";
  command += std::string(KEEL_BINARY) + " prefix " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  Run run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    run.out.append(buffer, n);
  int status = pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

const std::string kSample =
    std::string("--table ") + KEEL_TEST_DATA_DIR + "/pfx2as-sample.dat.gz";
const std::string kMixed =
    std::string("--table ") + KEEL_TEST_DATA_DIR + "/pfx2as-mixed-v6.dat";

TEST_CASE("keel prefix answers each query kind", "[prefix_command]") {
  Run r = Keel(kSample + " --longest 12.0.19.77");
  CHECK(r.code == 0);
  CHECK(r.out == "12.0.19.77\t12.0.19.0/24\t27487\n");

  r = Keel(kSample + " --exact 12.0.0.0/9");
  CHECK(r.out == "12.0.0.0/9\t12.0.0.0/9\t7018\n");

  r = Keel(kSample + " --exact 12.0.0.0/10");
  CHECK(r.out == "12.0.0.0/10\t-\n");

  r = Keel(kMixed + " --less 2001:db8:1:2::1/128");
  CHECK(r.out ==
        "2001:db8:1:2::1/128\t::/0\t64511\n"
        "2001:db8:1:2::1/128\t2001:db8::/32\t64500\n"
        "2001:db8:1:2::1/128\t2001:db8:1::/48\t64501\n"
        "2001:db8:1:2::1/128\t2001:db8:1:2::/64\t64502\n"
        "2001:db8:1:2::1/128\t2001:db8:1:2::1/128\t64503\n");

  r = Keel(kMixed + " --more 2001:db8::/32");
  CHECK(r.out ==
        "2001:db8::/32\t2001:db8::/32\t64500\n"
        "2001:db8::/32\t2001:db8:1::/48\t64501\n"
        "2001:db8::/32\t2001:db8:1:2::/64\t64502\n"
        "2001:db8::/32\t2001:db8:1:2::1/128\t64503\n"
        "2001:db8::/32\t2001:db8:ffff::/48\t64504\n");

  r = Keel(kMixed + " --more 10.0.0.0/8");
  CHECK(r.out == "10.0.0.0/8\t-\n");
}

TEST_CASE("keel prefix --longest - answers each stdin line",
          "[prefix_command]") {
  Run r =
      Keel(kMixed + " --longest -", "192.0.2.9\\n10.1.1.1\\n2001:db8::5\\n");
  CHECK(r.code == 0);
  CHECK(r.out ==
        "192.0.2.9\t192.0.2.0/24\t64496\n"
        "10.1.1.1\t-\n"
        "2001:db8::5\t2001:db8::/32\t64500\n");

  r = Keel(kMixed + " --longest -", "192.0.2.9\\nnonsense\\n");
  CHECK(r.code == 1);
  CHECK(r.out.find("stdin:2: ") != std::string::npos);
}

TEST_CASE("keel prefix reports usage and file errors", "[prefix_command]") {
  CHECK(Keel(kSample).code == 2);
  CHECK(Keel(kSample + " --longest 1.2.3.4 --exact 1.0.0.0/8").code == 2);
  CHECK(Keel(kSample + " --longest 1.2.3").code == 2);
  Run r = Keel("--table /nonexistent/table.dat --longest 1.2.3.4");
  CHECK(r.code == 1);
  CHECK(r.out.find("/nonexistent/table.dat") != std::string::npos);
}

}  // namespace
