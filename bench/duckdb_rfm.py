"""The RFM part of the customer-value benchmark in DuckDB, on the same orders
(bench/src/value.rs writes them to orders.csv). Loads them into a DuckDB table (timed
apart), then computes what Aftercare's RFM part computes: per customer with a purchase
in the window, the days since the last purchase, the days with a purchase and the
revenue, cut at the 20/40/60/80 % quantiles into scores 1-5. Prints JSON.

    python3 bench/duckdb_rfm.py ORDERS.csv AS_OF WINDOW_DAYS
"""

import json
import statistics
import sys
import time

import duckdb

path, as_of, window_days = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
t = time.perf_counter()
con.execute(
    "CREATE TABLE orders AS SELECT * FROM read_csv(?, header = true, "
    "columns = {'customer_id': 'BIGINT', 'ordered_on': 'DATE', 'total': 'BIGINT', 'status': 'VARCHAR'})",
    [path],
)
load = time.perf_counter() - t

RFM = """
CREATE OR REPLACE TABLE rfm AS
WITH agg AS (
    SELECT customer_id,
           date_diff('day', max(ordered_on), $as_of::DATE) AS days,
           count(DISTINCT ordered_on) AS f,
           sum(total) AS m
    FROM orders
    WHERE status <> 'cancelled'
      AND ordered_on > $as_of::DATE - $window::INTEGER
      AND ordered_on <= $as_of::DATE
    GROUP BY customer_id
),
cuts AS (
    SELECT quantile_disc(-days, [0.2, 0.4, 0.6, 0.8]) AS rc,
           quantile_disc(f, [0.2, 0.4, 0.6, 0.8]) AS fc,
           quantile_disc(m, [0.2, 0.4, 0.6, 0.8]) AS mc
    FROM agg
)
SELECT customer_id,
       1 + len(list_filter(rc, x -> -days >= x)) AS r,
       1 + len(list_filter(fc, x -> f >= x)) AS f,
       1 + len(list_filter(mc, x -> m >= x)) AS m
FROM agg, cuts
"""

runs = []
for _ in range(3):
    t = time.perf_counter()
    con.execute(RFM, {"as_of": as_of, "window": window_days})
    runs.append(time.perf_counter() - t)
customers = con.execute("SELECT count(*) FROM rfm").fetchone()[0]
print(
    json.dumps(
        {
            "version": duckdb.__version__,
            "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
            "load_seconds": load,
            "rfm_seconds": statistics.median(runs),
            "runs": runs,
            "customers": customers,
        }
    )
)
