#!/usr/bin/env python3
"""Times PromQL queries against keel serve and Prometheus; prints one JSON.

    query_timing.py --keel URL --prom URL --meta META.json [--reps N]
                    [--queries FILE] [--keel-pid PID --prom-pid PID] [--table]

For every query (the built-in dashboard set, or FILE: one a line, `#`
comments), an instant query at the data's end minus 30 s and a range query
over its last hour at a 15 s step go to both servers through the same client
(one keep-alive HTTP/1.1 connection per server, form-encoded GET). A timing
is the wall time from sending the request to the last byte of the body
read (decoding it as JSON comes after, untimed), the same client code on
both sides. After one
untimed warm-up each, the servers alternate for --reps rounds, so that
neither gets a warmer machine. Reported per query and kind: median and min
seconds for each side, their ratios (keel / Prometheus), the answers' series
and point counts (which must agree: the run fails otherwise), and, from the
warm-up's stats=all, each side's peakSamples (the most samples the query
held at once) and what else keel's QueryContext counted (answer bytes,
label memory copied from the store). keel has no per-query arena: these
counts are its measure of a query's memory. With the servers' pids, their
resident memory (VmRSS, VmHWM) after the run.
"""

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse

QUERIES = [
    'rate(node_cpu_seconds_total[5m])',
    'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
    'sum by (mode) (rate(node_cpu_seconds_total[1m]))',
    'avg without (cpu) (irate(node_cpu_seconds_total[5m]))',
    'histogram_quantile(0.9, sum by (le) '
    '(rate(http_request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.99, sum by (le, handler) '
    '(rate(http_request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[1m]))',
    'topk(5, rate(node_network_receive_bytes_total[5m]))',
    'node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
    '1 - node_filesystem_avail_bytes / node_filesystem_size_bytes',
    'rate(http_request_duration_seconds_sum[5m]) '
    '/ rate(http_request_duration_seconds_count[5m])',
    'sum by (instance) (rate(node_network_receive_bytes_total[5m])) '
    '+ sum by (instance) (rate(node_network_transmit_bytes_total[5m]))',
    'avg_over_time(node_memory_MemAvailable_bytes[10m])',
    'increase(http_request_duration_seconds_count[1h])',
    'count by (mode) (node_cpu_seconds_total)',
    'max by (instance) (node_filesystem_avail_bytes) < 1e12',
    'sum(up)',
]

INSTANT_BACK_S = 30
RANGE_S = 3600
STEP_S = 15


class Client:
    """One keep-alive connection; reconnects once if the server closed it."""

    def __init__(self, url, timeout_s):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.timeout_s = timeout_s
        self.conn = None

    def get(self, path, params):
        target = path + "?" + urllib.parse.urlencode(params)
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout_s)
            try:
                t0 = time.perf_counter()
                self.conn.request("GET", target)
                r = self.conn.getresponse()
                body = r.read()
                elapsed = time.perf_counter() - t0
                return elapsed, r.status, json.loads(body)
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def shape(answer):
    """(series, points) of a successful answer."""
    data = answer["data"]
    if data["resultType"] in ("scalar", "string"):
        return 1, 1
    result = data["result"]
    if data["resultType"] == "vector":
        return len(result), len(result)
    return len(result), sum(len(s["values"]) for s in result)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keel", required=True)
    ap.add_argument("--prom", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--queries")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--keel-pid", type=int)
    ap.add_argument("--prom-pid", type=int)
    ap.add_argument("--table", action="store_true",
                    help="a table instead of the JSON object")
    args = ap.parse_args()
    if not 1 <= args.reps <= 1000:
        ap.error("--reps must be 1..1000")
    with open(args.meta) as f:
        meta = json.load(f)
    queries = QUERIES
    if args.queries:
        with open(args.queries, encoding="utf-8") as f:
            queries = [q.strip() for q in f
                       if q.strip() and not q.lstrip().startswith("#")]
    t = meta["end"] - INSTANT_BACK_S
    kinds = [("instant", "/api/v1/query", {"time": "%d" % t}),
             ("range", "/api/v1/query_range",
              {"start": "%d" % (t - RANGE_S), "end": "%d" % t,
               "step": "%d" % STEP_S})]
    keel = Client(args.keel, args.timeout)
    prom = Client(args.prom, args.timeout)
    rows, ratios, failures = [], [], []
    for q in queries:
        for kind, path, params in kinds:
            params = dict(params, query=q)
            _, kcode, kans = keel.get(path, dict(params, stats="all"))
            _, pcode, pans = prom.get(path, dict(params, stats="all"))
            if kcode != 200 or pcode != 200:
                failures.append("%s %s: keel %d %s, Prometheus %d %s" % (
                    kind, q, kcode, kans.get("error"), pcode,
                    pans.get("error")))
                continue
            kshape, pshape = shape(kans), shape(pans)
            if kshape != pshape:
                failures.append("%s %s: keel %s series/points, Prometheus %s"
                                % (kind, q, kshape, pshape))
            stats = kans["data"].get("stats", {})
            pstats = pans["data"].get("stats", {})
            kt, pt = [], []
            for _ in range(args.reps):
                kt.append(keel.get(path, params)[0])
                pt.append(prom.get(path, params)[0])
            row = {
                "query": q, "kind": kind,
                "series": kshape[0], "points": kshape[1],
                "keel_median_s": statistics.median(kt),
                "keel_min_s": min(kt),
                "prometheus_median_s": statistics.median(pt),
                "prometheus_min_s": min(pt),
            }
            row["ratio_median"] = row["keel_median_s"] / row[
                "prometheus_median_s"]
            row["ratio_min"] = row["keel_min_s"] / row["prometheus_min_s"]
            row["keel_peak_samples"] = stats.get("samples", {}).get(
                "peakSamples")
            row["prometheus_peak_samples"] = pstats.get("samples", {}).get(
                "peakSamples")
            row["keel_result_bytes"] = stats.get("keel", {}).get(
                "resultBytes")
            row["keel_selected_label_bytes"] = stats.get("keel", {}).get(
                "selectedLabelBytes")
            rows.append(row)
            ratios.append(row["ratio_median"])
            print("%-7s %.4f s vs %.4f s  x%.2f  %s" % (
                kind, row["keel_median_s"], row["prometheus_median_s"],
                row["ratio_median"], q), file=sys.stderr, flush=True)
    out = {
        "series": meta.get("series"), "samples": meta.get("samples"),
        "reps": args.reps,
        "instant_time": t, "range_seconds": RANGE_S, "step_seconds": STEP_S,
        "queries": rows,
        "worst_ratio_median": max(ratios) if ratios else None,
        "geomean_ratio_median": (statistics.geometric_mean(ratios)
                                 if ratios else None),
        "queries_within_half": sum(r <= 0.5 for r in ratios),
        "failures": failures,
    }
    for side in ("keel", "prom"):
        pid = getattr(args, side + "_pid")
        if pid:
            out.update(memory(pid, "keel" if side == "keel" else
                              "prometheus"))
    if args.table:
        print_table(out)
    else:
        print(json.dumps(out))
    return 1 if failures else 0


def memory(pid, name):
    """VmRSS and VmHWM of a process, in bytes."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out["%s_%s_bytes" % (name, key[2:].lower())] = int(
                        rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def print_table(out):
    print("%-7s %10s %10s %6s %6s %11s %11s  %s" % (
        "kind", "keel_s", "prom_s", "x_med", "x_min", "keel_peak",
        "prom_peak", "query"))
    for r in out["queries"]:
        print("%-7s %10.5f %10.5f %6.2f %6.2f %11s %11s  %s" % (
            r["kind"], r["keel_median_s"], r["prometheus_median_s"],
            r["ratio_median"], r["ratio_min"], r["keel_peak_samples"],
            r["prometheus_peak_samples"], r["query"]))
    print("worst median ratio %.2f, geometric mean %.2f, %d of %d within "
          "0.5; %s" % (out["worst_ratio_median"] or 0,
                       out["geomean_ratio_median"] or 0,
                       out["queries_within_half"], len(out["queries"]),
                       ", ".join("%s %d MB" % (k, v >> 20)
                                 for k, v in out.items()
                                 if k.endswith("_bytes"))))
    for f in out["failures"]:
        print("FAILED: " + f)


if __name__ == "__main__":
    sys.exit(main())
