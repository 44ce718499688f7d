// The benchmarks that keel-serve runs (they speak remote-write, whose
// libraries only keel-serve links): `keel bench flood ...` execs
// `keel-serve bench flood ...`.
#include "tools/command.h"

KEEL_FORWARDED_COMMAND("bench flood",
                       "write and query flood against a running keel serve "
                       "(JSON)");
KEEL_FORWARDED_COMMAND("bench forward",
                       "forward a queue of samples to a remote-write backend: "
                       "samples/s and CPU per sample (JSON)");
KEEL_FORWARDED_COMMAND("bench serve-memory",
                       "keel serve's and Prometheus' memory and write rate at "
                       "N series remote-written (JSON)");
