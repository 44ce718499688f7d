#!/usr/bin/env python3
"""A scrape target for tests/tools/promql_remote_write_test.sh.

    scrape_target.py PORTFILE

Listens on 127.0.0.1 (an ephemeral port, written to PORTFILE once it
listens) and serves, at /<instance> (api-1, api-2, api-3, node-1, node-2,
sensor-gw, batch-1, grid), that instance's page in the Prometheus text
format, with the metric families of tests/compat/gen_data.py, so that
tests/compat/queries.promql has data to bite on. The test's Prometheus
scrapes each page as its own target (job and instance set in its config).

Values depend only on how many times the page was served (n), not on the
clock: counters grow by fixed steps, gauges follow fixed sequences; NaN,
+Inf, -Inf and extreme values are among them, as in gen_data.py.

Control, for the test: GET /control?down=INSTANCE makes that page answer
503 (Prometheus records up == 0 and stale markers for its series) until
/control?up=INSTANCE; /control?reset=INSTANCE restarts its counters from
zero, as a restarted process would.
"""

import http.server
import math
import os
import sys
import threading
import urllib.parse

RATES = {("GET", "200"): 40, ("GET", "404"): 0.7, ("GET", "500"): 0.02,
         ("POST", "200"): 9.5, ("POST", "404"): 0.05, ("POST", "500"): 0.3}
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
           "2.5", "5", "10", "+Inf"]
# Fraction of requests at or below each bucket's bound.
SHARE = [0.01, 0.03, 0.1, 0.25, 0.45, 0.7, 0.85, 0.93, 0.97, 0.99, 0.995, 1]
MODES = [("idle", 0.7), ("user", 0.2), ("system", 0.07), ("iowait", 0.03)]
INSTANCES = ["api-1", "api-2", "api-3", "node-1", "node-2", "sensor-gw",
             "batch-1", "grid"]

lock = threading.Lock()
served = {i: 0 for i in INSTANCES}  # pages served
zero_at = {i: 0 for i in INSTANCES}  # n at the last counter reset
down = set()


def fmt(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def page(inst, n, c):
    """The page of `inst` at its n-th scrape; c: scrapes since its counters
    last restarted."""
    out = []

    def family(name, mtype):
        out.append("# HELP %s %s of the test target.\n# TYPE %s %s\n" %
                   (name, name, name, mtype))

    def sample(name, labels, v):
        lab = ",".join('%s="%s"' % kv for kv in labels)
        out.append("%s{%s} %s\n" % (name, lab, fmt(v)) if lab else
                   "%s %s\n" % (name, fmt(v)))

    k = INSTANCES.index(inst)
    if inst.startswith("api-"):
        family("http_requests_total", "counter")
        for (method, code), r in RATES.items():
            sample("http_requests_total", [("method", method), ("code", code)],
                   math.floor(r * (1 + k * 0.3) * c))
        family("http_request_duration_seconds", "histogram")
        total = 30 * (1 + k) * c
        for b, share in zip(BUCKETS, SHARE):
            sample("http_request_duration_seconds_bucket", [("le", b)],
                   math.floor(total * share))
        sample("http_request_duration_seconds_sum", [], round(
            total * 0.08 * (1 + k), 3))
        sample("http_request_duration_seconds_count", [], total)
        family("build_info", "gauge")
        sample("build_info", [("version", "1.%d.0" % k),
                              ("goversion", "go1.19")], 1)
    elif inst.startswith("node-"):
        family("node_cpu_seconds_total", "counter")
        for cpu in ("0", "1"):
            for mode, share in MODES:
                sample("node_cpu_seconds_total", [("cpu", cpu), ("mode", mode)],
                       round(c * share * (1 + 0.1 * k) + int(cpu) * 0.25, 3))
        family("node_memory_MemTotal_bytes", "gauge")
        total = float(8 << 30) * k
        sample("node_memory_MemTotal_bytes", [], total)
        family("node_memory_MemAvailable_bytes", "gauge")
        sample("node_memory_MemAvailable_bytes", [],
               total * 0.4 + ((n * 37) % 1000) * 1e6)
        family("node_filesystem_avail_bytes", "gauge")
        for j, mount in enumerate(("/", "/var")):
            sample("node_filesystem_avail_bytes",
                   [("mountpoint", mount), ("device", "/dev/sd" + "ab"[j])],
                   float(50 << 30) - n * 4096 * (j + 1))
        family("worker_queue_depth", "gauge")
        for q in range(2):
            sample("worker_queue_depth", [("queue", "q%d" % q)],
                   (n * 7 + q * 3) % 11)
    elif inst == "sensor-gw":
        family("temperature_celsius", "gauge")
        for j, loc in enumerate(("east", "west", "north")):
            base = -3 if loc == "north" else 20
            sample("temperature_celsius", [("location", loc)],
                   round(base + 5 * math.sin(n / 5 + j), 2))
        family("awkward_value", "gauge")
        shapes = {"negative": -1.5 * n, "tiny": 1e-300 * (n % 3),
                  "subnormal": 5e-324 * (n % 2 + 1), "huge": 1e300 * (n % 4),
                  "integer": n, "nan": math.nan if n % 5 else 1.0,
                  "inf": math.inf if n % 2 else -math.inf, "zero": 0.0}
        for kind, v in shapes.items():
            sample("awkward_value", [("kind", kind)], v)
    elif inst == "batch-1":
        family("batch_last_success_timestamp_seconds", "gauge")
        sample("batch_last_success_timestamp_seconds", [],
               1709236800 + 60 * (n // 7))
        family("batch_jobs_processed_total", "counter")
        sample("batch_jobs_processed_total", [], 3 * (c // 7))
    else:
        family("grid_gauge", "gauge")
        sample("grid_gauge", [], round(math.sin(n / 9.0) * 100, 2))
        family("grid_counter_total", "counter")
        sample("grid_counter_total", [], 2 * c)
    return "".join(out).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        name = url.path.strip("/")
        if name == "control":
            with lock:
                for key, values in urllib.parse.parse_qs(url.query).items():
                    for inst in values:
                        if inst not in served:
                            return self.answer(400, b"unknown instance\n")
                        if key == "down":
                            down.add(inst)
                        elif key == "up":
                            down.discard(inst)
                        elif key == "reset":
                            zero_at[inst] = served[inst]
                        else:
                            return self.answer(400, b"unknown control\n")
            return self.answer(200, b"ok\n")
        with lock:
            if name not in served:
                return self.answer(404, b"no such page\n")
            if name in down:
                return self.answer(503, b"down\n")
            served[name] += 1
            n = served[name]
            body = page(name, n, n - zero_at[name])
        self.answer(200, body, "text/plain; version=0.0.4")

    def answer(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scrape_target.py PORTFILE")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
