#!/usr/bin/env python3
"""The client side of serve_memory_budget_test.sh: floods a keel serve that
runs with --memory-limit, then checks what the budget promised.

usage: memory_budget_flood.py URL PID LIMIT_BYTES CHUNK_WINDOW_S RETENTION_WINDOWS

Two kinds of series, each request a batch of K new series with one sample:
  flood_a  stamped T_A, a few seconds after the flood's longest run: retention
           drops them soon after the flood, which frees the memory;
  flood_b  stamped T_B, minutes ahead (inside --max-future): kept.
Phase A writes flood_a until the server's RSS reaches 70% of the limit;
phase B writes flood_b until the server has answered 429 for a while. A
thread samples the server's VmRSS meanwhile (the promise: at most the
limit x 1.05). At the limit a lookup must
still answer 200 and a query over every flood series 422. Then, once
retention has dropped flood_a, every flood_b batch answered 2xx must hold
all its K samples with their values (each batch read by a query of its
own), every batch answered 429 none (a refused request is stored nowhere),
and a new write must be accepted.

Prints one JSON line of figures; exits 1 naming the first broken promise.
Speaks remote-write 1.0 itself (protobuf and snappy by hand: literal-only
snappy is valid snappy), so it needs nothing beyond python3.
"""
import http.client
import json
import struct
import sys
import threading
import time
import urllib.parse

K = 500  # series a request
FLOOD_CAP_S = 25  # the flood stops after this long, whatever happened
REFUSED_FOR_S = 1.5  # phase B ends after this long of 429s


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, payload):  # a length-delimited protobuf field
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def write_body(name, batch, t_ms):
    """A snappy remote-write body: K new series of `name`, one sample each."""
    parts = []
    for i in range(K):
        labels = b"".join(
            field(1, field(1, k) + field(2, v))
            for k, v in (
                (b"__name__", name),
                (b"batch", str(batch).encode()),
                (b"id", str(i).encode()),
            )
        )
        sample = (
            varint(1 << 3 | 1)
            + struct.pack("<d", float(batch * K + i))
            + varint(2 << 3 | 0)
            + varint(t_ms)
        )
        parts.append(field(1, labels + field(2, sample)))
    raw = b"".join(parts)
    out = bytearray(varint(len(raw)))
    for at in range(0, len(raw), 65536):
        piece = raw[at : at + 65536]
        out.append(61 << 2)  # a literal whose length-1 follows in 2 bytes
        out += struct.pack("<H", len(piece) - 1)
        out += piece
    return bytes(out)


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Server:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def request(self, method, target, body=None, headers=None):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(
                        self.host, self.port, timeout=30
                    )
                self.conn.request(method, target, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, dict(r.getheaders()), r.read()
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.1)

    def write(self, body):
        return self.request(
            "POST",
            "/api/v1/write",
            body,
            {
                "Content-Encoding": "snappy",
                "Content-Type": "application/x-protobuf",
                "X-Prometheus-Remote-Write-Version": "0.1.0",
            },
        )

    def query(self, promql, t_ms):
        q = urllib.parse.urlencode({"query": promql, "time": f"{t_ms / 1000:.3f}"})
        status, _, body = self.request("GET", "/api/v1/query?" + q)
        return status, json.loads(body)


def main():
    url, pid, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    window_s, retention = float(sys.argv[4]), int(sys.argv[5])
    t0 = int(time.time() * 1000)
    t_a = t0 + (FLOOD_CAP_S + 2) * 1000
    t_b = t0 + 300 * 1000
    failures = []
    figures = {"limit_bytes": limit}

    peak = [0]
    sampling = threading.Event()
    sampling.set()

    def sampler():
        while sampling.is_set():
            peak[0] = max(peak[0], vm_rss(pid))
            time.sleep(0.02)

    threading.Thread(target=sampler, daemon=True).start()

    lock = threading.Lock()
    next_batch = [0]
    acked, refused, other = {}, {}, {}  # batch -> kind
    retry_after = set()
    first_429 = [None]
    phase = ["a"]
    start = time.monotonic()

    def writer():
        server = Server(url)
        while time.monotonic() - start < FLOOD_CAP_S:
            with lock:
                if phase[0] == "done":
                    return
                kind = phase[0]
                batch = next_batch[0]
                next_batch[0] += 1
            name, stamp = (b"flood_a", t_a) if kind == "a" else (b"flood_b", t_b)
            status, headers, body = server.write(write_body(name, batch, stamp))
            with lock:
                if status // 100 == 2:
                    acked[batch] = kind
                elif status == 429:
                    refused[batch] = kind
                    if "Retry-After" in headers:
                        retry_after.add(headers["Retry-After"])
                    if first_429[0] is None:
                        first_429[0] = time.monotonic()
                else:
                    other[batch] = (kind, status, body[:200].decode("utf-8", "replace"))
                if kind == "a" and vm_rss(pid) >= 0.7 * limit:
                    phase[0] = "b"
                if (
                    first_429[0] is not None
                    and phase[0] == "b"
                    and time.monotonic() - first_429[0] >= REFUSED_FOR_S
                ):
                    phase[0] = "done"

    writers = [threading.Thread(target=writer) for _ in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    flood_s = time.monotonic() - start
    flood_peak = peak[0]
    server = Server(url)

    # At the limit: lookups answer, a query over every flood series does not,
    # and refusing it keeps the peak under the same bound.
    lookup, _, _ = server.request("GET", "/v1/lookup?ip=1.1.1.1")
    costly, costly_answer = server.query('count({__name__=~"flood_.*"})', t_b)
    time.sleep(0.1)
    sampling.clear()
    figures.update(
        flood_seconds=round(flood_s, 1),
        requests_acknowledged_a=sum(1 for k in acked.values() if k == "a"),
        requests_acknowledged_b=sum(1 for k in acked.values() if k == "b"),
        requests_refused_429=len(refused),
        peak_rss_bytes=flood_peak,
        peak_rss_over_limit=round(flood_peak / limit, 3),
        query_at_limit_status=costly,
        peak_rss_with_query_over_limit=round(peak[0] / limit, 3),
    )
    if other:
        failures.append(f"writes answered neither 2xx nor 429: {list(other.values())[:3]}")
    if not refused:
        failures.append("the flood never got a 429")
    if retry_after != {"5"} and refused:
        failures.append(f"429s carried Retry-After {retry_after or 'never'}")
    if figures["requests_acknowledged_b"] == 0:
        failures.append("no flood_b request was acknowledged before the limit")
    if flood_peak > 1.05 * limit:
        failures.append(f"peak RSS {flood_peak} during the flood is over the limit x 1.05")
    if peak[0] > 1.05 * limit:
        failures.append(f"peak RSS {peak[0]} with the costly query is over the limit x 1.05")
    if lookup != 200:
        failures.append(f"a lookup at the limit answered {lookup}")
    if costly != 422 or costly_answer.get("errorType") != "execution":
        failures.append(f"the costly query at the limit answered {costly} {costly_answer}")
    _, _, metrics = server.request("GET", "/metrics")
    metrics = metrics.decode()
    if 'keel_memory_rejected_requests_total{kind="write"} 0' in metrics or (
        'keel_memory_rejected_requests_total{kind="write"}' not in metrics
    ):
        failures.append("keel_memory_rejected_requests_total{kind=write} did not count")

    # Retention drops flood_a (stamped t_a) once the clock is `retention`
    # windows past it, and the memory comes back. Each acknowledged flood_b
    # batch is then read on its own: a query that small fits once any room
    # is left.
    free_after = t_a + (retention + 1) * window_s * 1000
    while time.time() * 1000 < free_after:
        time.sleep(0.2)
    deadline = time.monotonic() + 15
    while True:
        status, left_a = server.query("count(flood_a)", t_b)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    figures["rss_after_retention_bytes"] = vm_rss(pid)
    if status != 200:
        failures.append(f"after retention a small query still answered {status} {left_a}")
    elif left_a["data"]["result"]:
        failures.append(f"retention did not drop flood_a: {left_a['data']['result']}")
    lost = 0
    unreadable = []
    for batch in sorted(b for b, kind in acked.items() if kind == "b"):
        status, answer = server.query(f'flood_b{{batch="{batch}"}}', t_b)
        if status != 200:
            unreadable.append((batch, status, answer))
            continue
        values = {float(r["value"][1]) for r in answer["data"]["result"]}
        lost += K - len(values & {float(batch * K + i) for i in range(K)})
    refused_b = [b for b, kind in refused.items() if kind == "b"]
    stored_refused = []
    for at in range(0, len(refused_b), 100):
        batches = "|".join(str(b) for b in refused_b[at : at + 100])
        status, answer = server.query(f'count by (batch) (flood_b{{batch=~"{batches}"}})', t_b)
        if status != 200:
            unreadable.append(("refused", status, answer))
            continue
        stored_refused += [r["metric"]["batch"] for r in answer["data"]["result"]]
    figures.update(acknowledged_b_samples_lost=lost, refused_b_batches_stored=len(stored_refused))
    if unreadable:
        failures.append(f"{len(unreadable)} check queries failed, first: {unreadable[0]}")
    if lost:
        failures.append(f"{lost} acknowledged flood_b samples are missing")
    if stored_refused:
        failures.append(f"batches answered 429 were stored: {stored_refused[:5]}")
    status, _, body = server.write(write_body(b"after_flood", 0, int(time.time() * 1000)))
    figures["write_after_retention_status"] = status
    if status // 100 != 2:
        failures.append(f"a write after retention answered {status} {body[:200]!r}")

    print(json.dumps(figures))
    if failures:
        for f in failures:
            print("FAILED:", f)
        sys.exit(1)


if __name__ == "__main__":
    main()
