#!/usr/bin/env python3
"""code-lines.py FILE REQUESTS: a request's code footprint, from a callgrind dump.

Counts the distinct 64-byte lines of machine code that run on (nearly) every request: the
lines holding an instruction executed at least REQUESTS/2 times. Between two requests the
kernel's network stack evicts most of the caches, so each of these lines is fetched again
per request; fewer lines is less time, beyond what the instruction count says.

The dump must be written with --dump-instr=yes --compress-strings=no --compress-pos=no
(absolute instruction addresses, names spelled out). Prints the total, then per object.
"""
import collections
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: code-lines.py CALLGRIND_FILE REQUESTS")
    path, requests = sys.argv[1], float(sys.argv[2])
    executed = collections.Counter()
    obj = ""
    after_call = False
    with open(path, encoding="utf-8", errors="replace") as dump:
        for line in dump:
            if line.startswith("ob="):
                obj = line[3:].strip().rsplit("/", 1)[-1]
            elif line.startswith("calls="):
                after_call = True  # the next cost line is the call's inclusive cost
            elif line.startswith("0x"):
                if after_call:
                    after_call = False
                    continue
                fields = line.split()
                if len(fields) >= 3:
                    executed[(obj, int(fields[0], 16))] += int(fields[2])
    lines = collections.defaultdict(set)
    for (name, address), count in executed.items():
        if count >= requests / 2:
            lines[name].add(address >> 6)
    total = sum(len(v) for v in lines.values())
    parts = ", ".join(f"{name} {len(v)}" for name, v in sorted(lines.items(), key=lambda x: -len(x[1])))
    print(f"{total} ({parts})")


if __name__ == "__main__":
    main()
