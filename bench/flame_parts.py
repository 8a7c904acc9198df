"""Where a profile's CPU goes, by part: reads inferno's folded stacks (one line a stack,
root first, frames joined by ';', then the sample count) and gives each sample to the
first part that one of its frames belongs to, from the leaf up. Prints a Markdown table:
one row a profile, one column a part, shares in per cent."""

import re
import sys
from collections import Counter
from pathlib import Path

# From the leaf up, the first frame that matches names the part. Kernel frames carry
# inferno's `_[k]` mark.
PARTS = [
    ("SQLite engine", re.compile(r"sqlite3|libsqlite3")),
    ("kernel (syscalls, wake-ups, sockets)", re.compile(r"_\[k\]$")),
    ("allocator", re.compile(r"^(_int_|__libc_)?(malloc|free|realloc|calloc|cfree)|^_mi_|^mi_|^tcache")),
    ("JSON and pages", re.compile(r"serde|askama|minijinja|maud|itoa|ryu")),
    ("sqlx SQLite driver", re.compile(r"sqlx_sqlite")),
    ("sqlx PostgreSQL driver", re.compile(r"sqlx_postgres")),
    ("store and sqlx core", re.compile(r"sqlx_core|aftercare_store")),
    ("HTTP (hyper, axum)", re.compile(r"hyper|axum|tower|http::")),
    ("application", re.compile(r"aftercare_")),
    ("tokio", re.compile(r"tokio")),
    ("locks and channels", re.compile(r"flume|futures_channel|parking_lot|pthread_mutex|__lll_lock|futex")),
]
OTHER = "other"


def part_of(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        for name, rx in PARTS:
            if rx.search(frame):
                return name
    return OTHER


def main(files):
    names = [p for p, _ in PARTS] + [OTHER]
    rows = []
    for f in files:
        c = Counter()
        for line in Path(f).read_text(errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                c[part_of(stack)] += int(n)
        rows.append((Path(f).stem, c, sum(c.values())))
    used = [n for n in names if any(c[n] for _, c, _ in rows)]
    print("| profile | samples | " + " | ".join(used) + " |")
    print("|---|---|" + "---|" * len(used))
    for name, c, total in rows:
        cells = [f"{100 * c[n] / total:.0f} %" if total else "" for n in used]
        print(f"| {name} | {total} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
