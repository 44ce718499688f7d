#!/usr/bin/env python3
"""Writes node-exporter-like series for `keel bench query`, in two formats.

    query_data.py OUTDIR [--instances N] [--hours H]

OUTDIR/data.om    OpenMetrics text for `promtool tsdb create-blocks-from
                  openmetrics` (timestamps in seconds)
OUTDIR/data-NNN.txt  the same samples in keel's import format (millisecond
                  timestamps), one file per instance, so that each import
                  request stays well below keel serve's --import-max-bytes
OUTDIR/meta.json  base and end (unix seconds), series and samples

Per instance (job "node", instance "host-NNN:9100"), scraped every 15 s
with a per-instance offset: node_cpu_seconds_total (8 CPUs x 8 modes),
memory, filesystem and network series, up, and a classic histogram
http_request_duration_seconds (3 handlers x 14 buckets, _sum, _count):
about 130 series an instance. Deterministic (fixed seed and base time).
The base is midnight UTC, so that promtool writes six hours as one block
and Prometheus has nothing to compact while it is measured.
"""

import argparse
import json
import math
import os
import random

BASE = 1709251200  # 2024-03-01T00:00:00Z
STEP_MS = 15000
SEED = 15
MODES = [("idle", 0.62), ("user", 0.2), ("system", 0.08), ("iowait", 0.04),
         ("irq", 0.01), ("softirq", 0.02), ("steal", 0.02), ("nice", 0.01)]
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
           "2.5", "5", "10", "25", "60", "+Inf"]
HANDLERS = ["/api/query", "/api/write", "/metrics"]


def fmt(v):
    if v == int(v) and abs(v) < 2**53:
        return "%d" % v
    return repr(v)


class Writer:
    """Writes families to the OpenMetrics file and series to the keel file
    of the current instance."""

    def __init__(self, outdir, instances):
        self.outdir = outdir
        self.om = open(os.path.join(outdir, "data.om"), "w",
                       encoding="utf-8")
        self.keel = [open(os.path.join(outdir, "data-%03d.txt" % i), "w",
                          encoding="utf-8") for i in range(instances)]
        self.series = self.samples = 0

    def family(self, name, mtype):
        self.om.write("# TYPE %s %s\n" % (name, mtype))

    def series_(self, inst, head, points):
        om, kt = self.om.write, self.keel[inst].write
        count = 0
        for ms, v in points:
            count += 1
            val = fmt(v)
            om("%s %s %d.%03d\n" % (head, val, ms // 1000, ms % 1000))
            kt("%s %s %d\n" % (head, val, ms))
        self.series += 1
        self.samples += count

    def close(self):
        self.om.write("# EOF\n")
        self.om.close()
        for f in self.keel:
            f.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--instances", type=int, default=24)
    ap.add_argument("--hours", type=int, default=6)
    args = ap.parse_args()
    if not 1 <= args.instances <= 1000 or not 1 <= args.hours <= 24:
        ap.error("--instances must be 1..1000 and --hours 1..24")
    os.makedirs(args.outdir, exist_ok=True)
    rng = random.Random(SEED)
    n = args.hours * 3600000 // STEP_MS
    times = [[BASE * 1000 + k * STEP_MS + 137 * i % STEP_MS for k in range(n)]
             for i in range(args.instances)]
    insts = ["host-%03d:9100" % i for i in range(args.instances)]
    w = Writer(args.outdir, args.instances)

    def lab(i, extra=""):
        return 'instance="%s",job="node"%s' % (insts[i], extra)

    def counter(rate_per_s, noise):
        v, out = rng.uniform(0, 1e5), []
        for _ in range(n):
            v += max(0.0, rate_per_s * 15 * (1 + rng.uniform(-noise, noise)))
            out.append(round(v, 2))
        return out

    def gauge(lo, hi, integer=False):
        v, out = rng.uniform(lo, hi), []
        for _ in range(n):
            v = min(hi, max(lo, v + rng.uniform(-0.01, 0.01) * (hi - lo)))
            out.append(float(int(v)) if integer else round(v, 3))
        return out

    w.family("node_cpu_seconds", "counter")
    for i in range(args.instances):
        for cpu in range(8):
            for mode, share in MODES:
                w.series_(i, 'node_cpu_seconds_total{cpu="%d",%s,mode="%s"}'
                          % (cpu, lab(i), mode),
                          zip(times[i], counter(share, 0.5)))
    total = {}
    w.family("node_memory_MemTotal_bytes", "gauge")
    for i in range(args.instances):
        total[i] = float(rng.choice([16, 32, 64, 128]) << 30)
        w.series_(i, "node_memory_MemTotal_bytes{%s}" % lab(i),
                  ((t, total[i]) for t in times[i]))
    w.family("node_memory_MemAvailable_bytes", "gauge")
    for i in range(args.instances):
        w.series_(i, "node_memory_MemAvailable_bytes{%s}" % lab(i),
                  zip(times[i], gauge(0.1 * total[i], 0.9 * total[i], True)))
    mounts = ["/", "/var", "/home"]
    w.family("node_filesystem_size_bytes", "gauge")
    size = {}
    for i in range(args.instances):
        for m in mounts:
            size[i, m] = float(rng.choice([100, 500, 2000]) << 30)
            w.series_(i, 'node_filesystem_size_bytes{device="/dev/sd%s",%s,'
                      'mountpoint="%s"}' % ("abc"[mounts.index(m)], lab(i), m),
                      ((t, size[i, m]) for t in times[i]))
    w.family("node_filesystem_avail_bytes", "gauge")
    for i in range(args.instances):
        for m in mounts:
            w.series_(i, 'node_filesystem_avail_bytes{device="/dev/sd%s",%s,'
                      'mountpoint="%s"}' % ("abc"[mounts.index(m)], lab(i), m),
                      zip(times[i], gauge(0.05 * size[i, m], 0.95 * size[i, m],
                                          True)))
    for direction in ("receive", "transmit"):
        w.family("node_network_%s_bytes" % direction, "counter")
        for i in range(args.instances):
            for dev in ("eth0", "eth1", "lo"):
                w.series_(i, 'node_network_%s_bytes_total{device="%s",%s}'
                          % (direction, dev, lab(i)),
                          zip(times[i], counter(rng.uniform(1e3, 1e7), 0.8)))
    w.family("up", "gauge")
    for i in range(args.instances):
        w.series_(i, "up{%s}" % lab(i), ((t, 1.0) for t in times[i]))
    w.family("http_request_duration_seconds", "histogram")
    for i in range(args.instances):
        for h in HANDLERS:
            counts = [[0] * len(BUCKETS)]
            sums = [0.0]
            mu = math.log(rng.uniform(0.02, 0.5))
            for _ in range(n - 1):
                c = list(counts[-1])
                s = sums[-1]
                for _ in range(rng.randint(5, 40)):
                    d = rng.lognormvariate(mu, 1.0)
                    s += d
                    for j, b in enumerate(BUCKETS):
                        if d <= float(b):
                            c[j] += 1
                counts.append(c)
                sums.append(round(s, 4))
            head = 'handler="%s",%s' % (h, lab(i))
            for j, b in enumerate(BUCKETS):
                w.series_(i, 'http_request_duration_seconds_bucket{%s,le="%s"}'
                          % (head, b),
                          ((t, float(c[j])) for t, c in zip(times[i], counts)))
            w.series_(i, "http_request_duration_seconds_sum{%s}" % head,
                      zip(times[i], sums))
            w.series_(i, "http_request_duration_seconds_count{%s}" % head,
                      ((t, float(c[-1])) for t, c in zip(times[i], counts)))
    w.close()
    meta = {"base": BASE, "end": BASE + args.hours * 3600,
            "series": w.series, "samples": w.samples,
            "instances": args.instances}
    with open(os.path.join(args.outdir, "meta.json"), "w") as f:
        json.dump(meta, f)
    print("query_data: %d series, %d samples in %s" %
          (w.series, w.samples, args.outdir))


if __name__ == "__main__":
    main()
