#!/usr/bin/env python3
"""Sends every query of a list to Prometheus and to keel and compares them.

    compare.py --prom URL --keel URL --queries FILE --meta META.json
               [--show N] [--list N] [--empty-report]
    compare.py --prom URL --keel URL --queries FILE
               --times T1,T2,... --range START:END:STEP ... [...]

Each query runs as an instant query (/api/v1/query) at several evaluation
times and as range queries (/api/v1/query_range) over two spans, all placed
relative to the dataset's base time (META.json from gen_data.py), or at
the unix times of --times and over each --range given instead (data
recorded live, as by tests/tools/promql_remote_write_test.sh). Every
(query, evaluation) pair is one case. A case passes when:

- both fail, with the same errorType when keel gives one; or
- both succeed with the same resultType and
  - scalar/string: same timestamp and value;
  - vector: the same label sets, each with the same timestamp and value; for
    an instant query whose outermost call is sort() or sort_desc() also the
    same sequence of values (Prometheus keeps that order; ties may come in
    any order, so labels are matched as a set);
  - matrix: the same label sets, each with the same points; for a range
    query the series in the same order too (Prometheus sorts them by labels).
  Values are equal when within 1e-9 relative, NaN equals NaN, infinities
  match exactly. Timestamps must match to the millisecond.

A query's first failing case prints with both answers abbreviated (for the
first --show queries), its other failures one line each (up to --list).
The last line of output is exactly `N passed, M failed`;
the exit status is 1 when M > 0, or when Prometheus answers more than a fifth
of the queries empty (or with an error) at every evaluation: its data would
not be loaded, and agreement on nothing proves nothing.
"""

import argparse
import json
import math
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

REL_TOL = 1e-9
TIMEOUT_S = 60

# Evaluation times, seconds after the dataset's base time: early in the data
# (inside the batch job's long gap), while api-3 is down (its series gone past
# the lookback), just before midnight, just after midnight (on no sample's
# millisecond), and two minutes after the last sample (inside the lookback).
INSTANT_OFFSETS = [3600, 7500, 4 * 3600 - 2.5, 4 * 3600 + 453.123,
                   6 * 3600 + 120]
# (start offset, end offset, step): one fine span across midnight with a step
# that is not a multiple of the scrape interval, one coarse span over all the
# data and past its end.
RANGES = [(3 * 3600 + 1205, 4 * 3600 + 2400, 50),
          (0, 6 * 3600 + 300, 300)]


def load_queries(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def fetch(base_url, endpoint, params):
    """Returns the decoded JSON answer; transport failures become errors."""
    url = "%s/api/v1/%s?%s" % (base_url.rstrip("/"), endpoint,
                               urllib.parse.urlencode(params))
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        body = e.read()
    except (urllib.error.URLError, OSError) as e:
        return {"status": "error", "errorType": "transport", "error": str(e)}
    try:
        answer = json.loads(body)
        if not isinstance(answer, dict):
            raise ValueError("not an object")
        return answer
    except ValueError:
        return {"status": "error", "errorType": "not_json",
                "error": body[:200].decode("utf-8", "replace")}


def parse_value(s):
    if not isinstance(s, str):
        raise ValueError("value %r is not a string" % (s,))
    if s == "NaN":
        return math.nan
    if s == "+Inf":
        return math.inf
    if s == "-Inf":
        return -math.inf
    return float(s)


def values_equal(a, b):
    x, y = parse_value(a), parse_value(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return x == y or abs(x - y) <= REL_TOL * max(abs(x), abs(y))


def ms(t):
    return round(float(t) * 1000)


def point_diff(p, k, what):
    """p, k: [t, "v"] from Prometheus and keel; a reason string or None."""
    if not isinstance(k, list) or len(k) != 2:
        return "%s: malformed point %r" % (what, k)
    if ms(p[0]) != ms(k[0]):
        return "%s: timestamp %s vs %s" % (what, p[0], k[0])
    if not values_equal(p[1], k[1]):
        return "%s: value %s vs %s" % (what, p[1], k[1])
    return None


def label_key(metric):
    return tuple(sorted(metric.items()))


def show_labels(key):
    return "{" + ", ".join('%s="%s"' % kv for kv in key) + "}"


def index(result, field):
    """label key -> entry; a duplicate label set is a reason string."""
    out = {}
    for entry in result:
        key = label_key(entry.get("metric", {}))
        if key in out:
            return None, "duplicate label set %s" % show_labels(key)
        out[key] = entry[field]
    return out, None


def compare_sets(p_idx, k_idx):
    missing = [k for k in p_idx if k not in k_idx]
    extra = [k for k in k_idx if k not in p_idx]
    if missing or extra:
        parts = []
        if missing:
            parts.append("keel lacks %d series, e.g. %s" %
                         (len(missing), show_labels(missing[0])))
        if extra:
            parts.append("keel has %d extra, e.g. %s" %
                         (len(extra), show_labels(extra[0])))
        return "; ".join(parts)
    return None


def compare_data(prom, keel, ordered_vector, ordered_matrix):
    """Both answers succeeded: a reason string, or None when they agree."""
    pd, kd = prom["data"], keel.get("data")
    if not isinstance(kd, dict):
        return "keel's answer has no data object"
    if pd["resultType"] != kd.get("resultType"):
        return "resultType %s vs %s" % (pd["resultType"], kd.get("resultType"))
    pr, kr = pd["result"], kd.get("result")
    rtype = pd["resultType"]
    if rtype in ("scalar", "string"):
        if rtype == "string":
            return None if pr == kr else "string %r vs %r" % (pr, kr)
        return point_diff(pr, kr, "scalar")
    if not isinstance(kr, list):
        return "keel's result is not a list"
    field = "value" if rtype == "vector" else "values"
    try:
        p_idx, why = index(pr, field)
        if why:
            return "Prometheus: " + why
        k_idx, why = index(kr, field)
        if why:
            return "keel: " + why
    except (KeyError, AttributeError, TypeError):
        return "keel's result entries are malformed"
    why = compare_sets(p_idx, k_idx)
    if why:
        return why
    for key, pv in p_idx.items():
        kv = k_idx[key]
        if rtype == "vector":
            why = point_diff(pv, kv, show_labels(key))
        else:
            if len(pv) != len(kv):
                why = "%s: %d points vs %d" % (show_labels(key), len(pv),
                                               len(kv))
            else:
                why = next((w for w in (point_diff(a, b, show_labels(key))
                                        for a, b in zip(pv, kv)) if w), None)
        if why:
            return why
    if ordered_vector:
        pvals = [e["value"][1] for e in pr]
        kvals = [e["value"][1] for e in kr]
        if not all(values_equal(a, b) for a, b in zip(pvals, kvals)):
            return "order of values differs: %s vs %s" % (pvals[:8], kvals[:8])
    if ordered_matrix:
        porder = [label_key(e["metric"]) for e in pr]
        korder = [label_key(e["metric"]) for e in kr]
        if porder != korder:
            at = next(i for i, (a, b) in enumerate(zip(porder, korder))
                      if a != b)
            return "series order differs at %d: %s vs %s" % (
                at, show_labels(porder[at]), show_labels(korder[at]))
    return None


def compare(prom, keel, ordered_vector, ordered_matrix):
    p_ok = prom.get("status") == "success"
    k_ok = keel.get("status") == "success"
    if not p_ok and not k_ok:
        pt, kt = prom.get("errorType"), keel.get("errorType")
        if kt is not None and pt != kt:
            return "both failed, errorType %s vs %s" % (pt, kt)
        return None
    if not p_ok:
        return "Prometheus failed, keel answered"
    if not k_ok:
        return "keel failed: %s" % (keel.get("error"),)
    return compare_data(prom, keel, ordered_vector, ordered_matrix)


SORTED_CALL = re.compile(r"^\s*sort(_desc)?\s*\(")


def is_sort_call(q):
    """True when the whole query is one sort() or sort_desc() call."""
    m = SORTED_CALL.match(q)
    if not m:
        return False
    depth, quote, escaped = 0, None, False
    for i in range(m.end() - 1, len(q)):
        c = q[i]
        if quote:
            if escaped:
                escaped = False
            elif c == "\\" and quote != "`":
                escaped = True
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return not q[i + 1:].strip()
    return False


def abbreviate(answer, limit=300):
    s = json.dumps(answer, separators=(",", ":"))
    return s if len(s) <= limit else s[:limit] + "...(%d bytes)" % len(s)


def is_empty(answer):
    if answer.get("status") != "success":
        return False
    r = answer["data"]["result"]
    return isinstance(r, list) and not r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prom", required=True)
    ap.add_argument("--keel", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--meta",
                    help="gen_data.py's meta.json: evaluations relative to "
                    "its base time")
    ap.add_argument("--times",
                    help="instant evaluations at these unix times (comma-"
                    "separated), instead of --meta's")
    ap.add_argument("--range", action="append", default=[],
                    help="a range evaluation START:END:STEP (unix times, "
                    "seconds), instead of --meta's; repeatable")
    ap.add_argument("--show", type=int, default=40,
                    help="queries whose first failure prints both answers "
                    "(default 40)")
    ap.add_argument("--list", type=int, default=500,
                    help="further failures printed one line each "
                    "(default 500)")
    ap.add_argument("--empty-report", action="store_true",
                    help="list queries Prometheus answers empty or with an "
                    "error in every case")
    args = ap.parse_args()
    if (args.meta is None) == (args.times is None and not args.range):
        ap.error("give either --meta or --times/--range")
    queries = load_queries(args.queries)

    cases = []
    if args.meta is not None:
        with open(args.meta) as f:
            base = json.load(f)["base"]
        for off in INSTANT_OFFSETS:
            cases.append(("instant@+%gs" % off, "query",
                          {"time": "%.3f" % (base + off)}))
        for a, b, step in RANGES:
            cases.append(("range+%g..+%gs/%gs" % (a, b, step),
                          "query_range",
                          {"start": "%.3f" % (base + a),
                           "end": "%.3f" % (base + b),
                           "step": str(step)}))
    else:
        try:
            times = [float(t) for t in (args.times or "").split(",") if t]
            ranges = [tuple(float(x) for x in r.split(":"))
                      for r in args.range]
        except ValueError:
            ap.error("--times and --range take numbers")
        if any(len(r) != 3 or r[2] <= 0 for r in ranges):
            ap.error("--range is START:END:STEP with STEP > 0")
        for t in times:
            cases.append(("instant@%.3f" % t, "query",
                          {"time": "%.3f" % t}))
        for a, b, step in ranges:
            cases.append(("range %.3f..%.3f/%gs" % (a, b, step),
                          "query_range",
                          {"start": "%.3f" % a, "end": "%.3f" % b,
                           "step": "%g" % step}))

    passed = failed = detailed = listed = unlisted = queries_passed = 0
    weak = []  # queries Prometheus answers empty or with an error every time
    for q in queries:
        prom_useful = False
        q_failed = 0
        for name, endpoint, params in cases:
            params = dict(params, query=q)
            prom = fetch(args.prom, endpoint, params)
            if prom.get("errorType") in ("transport", "not_json"):
                print("ERROR: Prometheus did not answer %r: %s" %
                      (q, prom["error"]))
                failed += 1
                q_failed += 1
                continue
            keel = fetch(args.keel, endpoint, params)
            prom_useful |= (prom.get("status") == "success" and
                            not is_empty(prom))
            ordered_vector = endpoint == "query" and is_sort_call(q)
            why = compare(prom, keel, ordered_vector,
                          endpoint == "query_range")
            if why is None:
                passed += 1
                continue
            failed += 1
            q_failed += 1
            if q_failed == 1 and detailed < args.show:
                detailed += 1
                print("FAIL [%s] %s\n  why:        %s\n  prometheus: %s\n"
                      "  keel:       %s" %
                      (name, q, why, abbreviate(prom), abbreviate(keel)))
            elif listed < args.list:
                listed += 1
                print("FAIL [%s] %s: %s" % (name, q, why[:160]))
            else:
                unlisted += 1
        if not prom_useful:
            weak.append(q)
        queries_passed += q_failed == 0
    if unlisted:
        print("... and %d more failures not listed" % unlisted)
    if args.empty_report:
        for q in weak:
            print("WEAK: Prometheus answers empty or an error in every "
                  "case: %s" % q)
    print("%d queries x %d evaluations; %d queries agree in every evaluation; "
          "Prometheus answered empty or an error in every evaluation of %d" %
          (len(queries), len(cases), queries_passed, len(weak)))
    vacuous = len(weak) > len(queries) // 5
    if vacuous:
        print("ERROR: Prometheus answers empty or an error to %d of %d "
              "queries: is its data loaded?" % (len(weak), len(queries)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or vacuous else 0


if __name__ == "__main__":
    sys.exit(main())
