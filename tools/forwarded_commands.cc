// The commands that keel-serve runs (tools/CMakeLists.txt says why they are
// an executable of their own); `keel serve ...` execs `keel-serve serve ...`.
#include "tools/command.h"

KEEL_FORWARDED_COMMAND("serve",
                       "HTTP server: IP and prefix lookups, Prometheus remote "
                       "write and queries, /metrics, snapshots");
KEEL_FORWARDED_COMMAND("stats", "print the allocator's Prometheus metrics");
