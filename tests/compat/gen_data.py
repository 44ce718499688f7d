#!/usr/bin/env python3
"""Writes the PromQL compatibility dataset in two formats.

    gen_data.py OUTDIR

OUTDIR/data.om   OpenMetrics text for `promtool tsdb create-blocks-from
                 openmetrics` (timestamps in seconds, `# TYPE`, `# EOF`)
OUTDIR/data.txt  the same samples in keel's import format (millisecond
                 timestamps; core/series/series_text_format.h)
OUTDIR/meta.json the data's time span (base, end in unix seconds)

Deterministic: a fixed seed and a fixed base time (2024-02-29T20:00:00Z, six
hours that cross midnight into March 1, so that the date functions see a leap
day, a month change and days_in_month 29 and 31). Samples are written series
by series in time order, as promtool's block writer needs.

What the data holds, so that the queries have something to bite on: counters
with resets (to zero and to a smaller non-zero value), flat stretches and
fractional increments; gauges with negative, tiny (subnormal), huge, integer
and non-finite values (NaN, +Inf, -Inf: promtool stores NaN as an ordinary
NaN, not as a stale marker, and so does keel's importer); classic histograms
(_bucket{le}, _sum, _count) that reset; series with gaps shorter and longer
than the 5 m lookback; series that begin and end inside the data; several
jobs and instances; per-target scrape offsets and jitter, as a real
Prometheus' scrapes have; and one target exactly on the 15 s grid, whose
samples fall on the edges of lookback and range windows.

Stale markers cannot be carried: OpenMetrics text has only one NaN, which
promtool appends as Go's math.NaN(), never the stale-marker bit pattern.
Staleness is left to keel's unit tests.
"""

import json
import math
import os
import random
import sys

BASE = 1709236800  # 2024-02-29T20:00:00Z
HOURS = 6
STEP_MS = 15000
SEED = 15

rng = random.Random(SEED)


def scrape_times(offset_ms, jitter_ms=40):
    """Millisecond timestamps of one target's scrapes over the data's span."""
    out = []
    t = 0
    while t < HOURS * 3600000:
        ms = BASE * 1000 + t + offset_ms + rng.randint(-jitter_ms, jitter_ms)
        # promtool reads "<seconds>.<ms>" as int64(float * 1000), which
        # truncates and can land one millisecond early: use the millisecond
        # it will store.
        ms = int(float(seconds(ms)) * 1000)
        if not out or ms > out[-1]:
            out.append(ms)
        t += STEP_MS
    return out


def seconds(ms):
    return "%d.%03d" % (ms // 1000, ms % 1000)


def fmt_value(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 2**63:
        return "%d" % v if not (v == 0 and math.copysign(1, v) < 0) else "-0"
    return repr(v)


def escape(v):
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


class Family:
    def __init__(self, name, mtype):
        self.name = name
        self.mtype = mtype
        self.series = []  # (sample name, labels dict, [(ms, value)])

    def add(self, labels, samples, suffix=""):
        self.series.append((self.name + suffix, labels, samples))


families = []


def family(name, mtype):
    f = Family(name, mtype)
    families.append(f)
    return f


# Targets: job -> [(instance, scrape offset ms)]
TARGETS = {
    "api": [("api-1:8080", 1234), ("api-2:8080", 5678), ("api-3:8080", 9012)],
    "node": [("node-1:9100", 333), ("node-2:9100", 14321)],
    "sensors": [("sensor-gw:9200", 7000)],
}
times = {inst: scrape_times(off) for job in TARGETS
         for inst, off in TARGETS[job]}
# A target scraped exactly on the 15 s grid from the base time, with a gap of
# (55m, 60m]: samples sit exactly at the edges of lookback and range windows
# at grid-aligned evaluation times (Prometheus 2.42 includes both edges).
TARGETS["grid"] = [("grid:9400", 0)]
times["grid:9400"] = [
    ms for ms in scrape_times(0, jitter_ms=0)
    if not 3300000 < ms - BASE * 1000 <= 3600000]

# api-3 is down for 20 minutes (up == 0, no other series: a gap longer than
# the lookback); api-2 restarts at 2h13m (every counter resets).
DOWN = ("api-3:8080", BASE * 1000 + 110 * 60000, BASE * 1000 + 130 * 60000)
RESTART = ("api-2:8080", BASE * 1000 + 133 * 60000)


def alive(inst, ms):
    return not (inst == DOWN[0] and DOWN[1] <= ms < DOWN[2])


up = family("up", "gauge")
for job, targets in TARGETS.items():
    for inst, _ in targets:
        up.add({"job": job, "instance": inst},
               [(ms, 1 if alive(inst, ms) else 0) for ms in times[inst]])

# Counters. Each target's counters restart together.
def counter_series(inst, rate_per_s, integer, jitter=0.5, reset_at=None,
                   drop_to=None):
    out, v = [], 0.0
    for ms in times[inst]:
        if not alive(inst, ms):
            continue
        inc = max(0.0, rate_per_s * 15 * (1 + jitter * (rng.random() * 2 - 1)))
        if integer:
            inc = float(int(inc))
        if inst == RESTART[0] and out and out[-1][0] < RESTART[1] <= ms:
            v = 0.0
        if reset_at is not None and out and out[-1][0] < reset_at <= ms:
            v = drop_to
        v += inc
        out.append((ms, v))
    return out


http = family("http_requests_total", "counter")
RATES = {("GET", "200"): 40, ("GET", "404"): 0.7, ("GET", "500"): 0.02,
         ("POST", "200"): 9.5, ("POST", "404"): 0.05, ("POST", "500"): 0.3}
for i, (inst, _) in enumerate(TARGETS["api"]):
    for (method, code), r in RATES.items():
        kwargs = {}
        if inst == "api-1:8080" and (method, code) == ("GET", "200"):
            # A reset to a smaller non-zero value (a counter that "went back").
            kwargs = dict(reset_at=BASE * 1000 + 250 * 60000, drop_to=1000.0)
        http.add({"job": "api", "instance": inst, "method": method,
                  "code": code},
                 counter_series(inst, r * (1 + i * 0.3), True, **kwargs),
                 "")

BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
           "2.5", "5", "10", "+Inf"]
hist = family("http_request_duration_seconds", "histogram")
for i, (inst, _) in enumerate(TARGETS["api"]):
    counts = [0] * len(BUCKETS)
    total = 0.0
    series = {b: [] for b in BUCKETS}
    sums, cnts = [], []
    for ms in times[inst]:
        if not alive(inst, ms):
            continue
        if inst == RESTART[0] and cnts and cnts[-1][0] < RESTART[1] <= ms:
            counts = [0] * len(BUCKETS)
            total = 0.0
        n = rng.randint(0, 60 + 20 * i)
        for _ in range(n):
            d = rng.lognormvariate(math.log(0.08 * (1 + i)), 1.1)
            total += d
            for j, b in enumerate(BUCKETS):
                if d <= float(b):
                    counts[j] += 1
        for j, b in enumerate(BUCKETS):
            series[b].append((ms, counts[j]))
        sums.append((ms, total))
        cnts.append((ms, counts[-1]))
    labels = {"job": "api", "instance": inst}
    for b in BUCKETS:
        hist.add(dict(labels, le=b), series[b], "_bucket")
    hist.add(labels, sums, "_sum")
    hist.add(labels, cnts, "_count")

cpu = family("node_cpu_seconds_total", "counter")
for inst, _ in TARGETS["node"]:
    for c in ("0", "1"):
        for mode, share in (("idle", 0.7), ("user", 0.2), ("system", 0.07),
                            ("iowait", 0.03)):
            cpu.add({"job": "node", "instance": inst, "cpu": c, "mode": mode},
                    counter_series(inst, share, False, jitter=0.6))


def walk(inst, start, step, lo, hi, integer=False, keep=None):
    out, v = [], start
    for ms in times[inst]:
        if keep is not None and not keep(ms):
            continue
        v = min(hi, max(lo, v + rng.uniform(-step, step)))
        out.append((ms, float(int(v)) if integer else v))
    return out


mem_total = family("node_memory_MemTotal_bytes", "gauge")
mem_avail = family("node_memory_MemAvailable_bytes", "gauge")
fs = family("node_filesystem_avail_bytes", "gauge")
for k, (inst, _) in enumerate(TARGETS["node"]):
    total = 8589934592 * (k + 1)
    labels = {"job": "node", "instance": inst}
    mem_total.add(labels, [(ms, total) for ms in times[inst]])
    mem_avail.add(labels, walk(inst, total * 0.4, total * 0.01, total * 0.05,
                               total * 0.9, integer=True))
    for mount, size in (("/", 5e10), ("/var", 2.5e11)):
        out, v = [], size * (0.5 + 0.2 * k)
        for ms in times[inst]:
            v -= rng.randint(0, 400000) * (k + 1)  # slowly filling up
            out.append((ms, v))
        fs.add(dict(labels, mountpoint=mount, device="/dev/sd" + "ab"[k]), out)

temp = family("temperature_celsius", "gauge")
for j, loc in enumerate(("north", "south", "east", "west")):
    inst = "sensor-gw:9200"
    values = walk(inst, -3.5 + 2.5 * j, 0.4, -20, 20)
    if loc == "east":  # exact integers, crossing zero
        values = [(ms, float(round(v))) for ms, v in values]
    temp.add({"job": "sensors", "instance": "sensor-gw:9200", "location": loc},
             values)

awk = family("awkward_value", "gauge")
inst = "sensor-gw:9200"
ts = times[inst]
shapes = {
    "tiny": lambda i: rng.choice([1, -1]) * rng.random() * 1e-300,
    "subnormal": lambda i: (i % 7) * 5e-324 * 1000,
    "huge": lambda i: rng.uniform(0.5, 1.5) * 1e300 * (1 if i % 5 else -1),
    "integer": lambda i: float(rng.randint(-2**53, 2**53)),
    "negative": lambda i: -rng.random() * 1000 - 0.001,
    "zero": lambda i: 0.0 if i % 3 else -0.0,
    "nonfinite": lambda i: [1.5, float("nan"), float("inf"), -2.25,
                            float("-inf"), 3.0][(i // 40) % 6],
}
for kind, f in shapes.items():
    awk.add({"job": "sensors", "instance": inst, "kind": kind},
            [(ms, f(i)) for i, ms in enumerate(ts)])

# A batch job pushing irregularly: gaps longer and shorter than 5 m.
batch_times = []
t = BASE * 1000 + 2500
while t < (BASE + HOURS * 3600) * 1000:
    m = (t - BASE * 1000) / 60000  # minutes since base
    if not (40 <= m < 70 or 200 <= m < 203 or 300 <= m < 318):
        batch_times.append(t)
    t += 60000 if 70 <= m < 180 else 20000
batch = family("batch_last_success_timestamp_seconds", "gauge")
done = family("batch_jobs_processed_total", "counter")
labels = {"job": "batch", "instance": "batch-1:9300"}
last, out, cnt, n = BASE - 300, [], [], 0.0
for i, ms in enumerate(batch_times):
    if i % 4 == 0:
        last = ms / 1000.0
        n += rng.randint(1, 9)
    out.append((ms, last))
    cnt.append((ms, n))
batch.add(labels, out)
done.add(labels, cnt)

# Series that start and end inside the data (pods coming and going).
queue = family("worker_queue_depth", "gauge")
for q, (a, b) in enumerate(((0, 90), (60, 180), (170, 360), (235, 245))):
    inst = "node-1:9100"
    keep = (lambda a, b:
            lambda ms: a * 60000 <= ms - BASE * 1000 < b * 60000)(a, b)
    queue.add({"job": "node", "instance": inst, "queue": "q%d" % q},
              walk(inst, 10 * q, 3, 0, 100, integer=True, keep=keep))

grid_gauge = family("grid_gauge", "gauge")
grid_counter = family("grid_counter_total", "counter")
labels = {"job": "grid", "instance": "grid:9400"}
grid_gauge.add(labels, [(ms, round(math.sin(i / 9.0) * 100, 2))
                        for i, ms in enumerate(times["grid:9400"])])
grid_counter.add(labels, counter_series("grid:9400", 2, True,
                                        reset_at=BASE * 1000 + 200 * 60000,
                                        drop_to=0.0))

info = family("build_info", "gauge")
for job, targets in TARGETS.items():
    for k, (inst, _) in enumerate(targets):
        info.add({"job": job, "instance": inst,
                  "version": "1.%d.%d" % (len(job), k),
                  "goversion": "go1.19.8"},
                 [(ms, 1) for ms in times[inst] if alive(inst, ms)])

odd = family("odd_labels", "gauge")
for k, path in enumerate(('/a "quoted" path', "C:\\dir\\file", "two\nlines",
                          "ünïcödé/路径")):
    odd.add({"job": "api", "instance": "api-1:8080", "path": path,
             "idx": str(k)},
            walk("api-1:8080", k, 1, -10, 10))


def label_text(labels):
    return ",".join('%s="%s"' % (k, escape(v)) for k, v in labels.items())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_data.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    n_series = n_samples = 0
    with open(os.path.join(outdir, "data.om"), "w", encoding="utf-8") as om, \
         open(os.path.join(outdir, "data.txt"), "w", encoding="utf-8") as kt:
        for fam in families:
            # OpenMetrics names a counter family without its _total suffix.
            name = fam.name
            if fam.mtype == "counter" and name.endswith("_total"):
                name = name[:-len("_total")]
            om.write("# TYPE %s %s\n" % (name, fam.mtype))
            for name, labels, samples in fam.series:
                if not samples:
                    continue
                n_series += 1
                head = "%s{%s}" % (name, label_text(labels))
                prev = None
                for ms, v in samples:
                    assert prev is None or ms > prev, (name, labels, ms)
                    prev = ms
                    n_samples += 1
                    val = fmt_value(float(v))
                    om.write("%s %s %s\n" % (head, val, seconds(ms)))
                    kt.write("%s %s %d\n" % (head, val, ms))
        om.write("# EOF\n")
    with open(os.path.join(outdir, "meta.json"), "w") as f:
        json.dump({"base": BASE, "end": BASE + HOURS * 3600,
                   "series": n_series,
                   "samples": n_samples}, f)
    print("gen_data: %d series, %d samples in %s" %
          (n_series, n_samples, outdir))


if __name__ == "__main__":
    main()
