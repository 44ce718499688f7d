#!/usr/bin/env python3
"""Writes N random IP addresses, one a line, for the lookup benchmarks.

Half are uniform IPv4 addresses, half IPv6 addresses drawn from random rows
of an ip2asn IPv6 feed (uniform IPv6 would nearly all fall in one gap), so
that lookups read every part of a table. The seed is fixed: runs compare.

  bench/random_addresses.py 1000000 ../shared/data/ip2asn-v6.tsv > addresses
"""
import ipaddress
import random
import sys


def main():
    n, v6_feed = int(sys.argv[1]), sys.argv[2]
    rows = []
    with open(v6_feed) as feed:
        for line in feed:
            first, last = line.split('\t')[:2]
            rows.append((int(ipaddress.IPv6Address(first)),
                         int(ipaddress.IPv6Address(last))))
    rnd = random.Random(42)
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append(str(ipaddress.IPv4Address(rnd.getrandbits(32))))
        else:
            first, last = rows[rnd.randrange(len(rows))]
            out.append(str(ipaddress.IPv6Address(rnd.randint(first, last))))
    sys.stdout.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()
