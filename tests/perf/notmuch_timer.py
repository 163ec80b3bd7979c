"""Time notmuch queries in-process (run with Debian's /usr/bin/python3 + python3-notmuch2).

Reads a JSON list of queries on stdin, prints JSON with per-query counts and
latencies (seconds) for two operations: count all matches, and fetch the newest 50
(message ids).  Kept free of project imports: it runs under the system Python.
"""

import json
import sys
import time

import notmuch2


def main() -> None:
    db_path, repeats = sys.argv[1], int(sys.argv[2])
    queries = json.load(sys.stdin)
    db = notmuch2.Database(db_path, mode=notmuch2.Database.MODE.READ_ONLY,
                           config=notmuch2.Database.CONFIG.EMPTY)
    out = []
    for q in queries:
        count_times, page_times = [], []
        count = 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            count = db.count_messages(q, exclude_tags=[])
            count_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ids = []
            for m in db.messages(q, sort=notmuch2.Database.SORT.NEWEST_FIRST, exclude_tags=[]):
                ids.append(m.messageid)
                if len(ids) == 50:
                    break
            page_times.append(time.perf_counter() - t0)
        out.append({"query": q, "count": count, "count_times": count_times,
                    "page_times": page_times})
    db.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
