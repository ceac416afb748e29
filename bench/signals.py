"""Early warning at scale: does ingestion keep up, and does evaluating the rules cost
what the new points cost rather than what the history holds?

1,000 series (ten brands), one rule each (threshold, rate of change, spike in turn).
History is loaded straight into the tables (one INSERT … SELECT over generate_series,
baselines computed from it in SQL), then batches of 10,000 new points (ten hours of
every series) go through the real ingestion (watch.ingest.receive) and every rule whose
series changed is evaluated after each batch (watch.rules.evaluate). Measured at each
history size given (default: 10 thousand, 1 million and 8.76 million points, a year of
hourly history).

Prints, per history size: ingestion rate (points/s, median of the batches), the CPU
a point costs (this process, and the database backend when it runs on this machine:
the figure to compare on a busy machine) and rule evaluation time per batch (median);
then the sentiment classifier's accuracy on the labelled sample; the machine's load
before and after. Last line:
`ingest_per_s=<at the largest history> eval_ratio=<eval at largest / eval at smallest>`
(goals: ≥ 20,000 and ≤ 1.5).

    .venv/bin/python bench/signals.py [--sizes 10000,1000000,8760000] [--batches 5]

Runs on a fresh database of its own (PostgreSQL when it answers, see common.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import setup

SERIES = 1000
BRANDS = 10
BATCH_HOURS = 10  # 10 hours x 1,000 series = 10,000 points per batch
START = datetime(2025, 1, 1, tzinfo=UTC)


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,1000000,8760000", help="history sizes (points) to measure at")
    parser.add_argument("--batches", type=int, default=5, help="batches of 10,000 points per size")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))

    print(f"load before: {loadavg()} (cores: {__import__('os').cpu_count()})", flush=True)
    vendor = setup("crisisflow_bench_signals")
    print(f"database: {vendor}", flush=True)

    from django.db import connection

    from crisisflow.watch import ingest
    from crisisflow.watch.models import Brand, Rule, Series
    from crisisflow.watch.rules import evaluate, rules_to_check

    brands = [Brand.objects.create(key=f"brand-{b}", name=f"Brand {b}") for b in range(BRANDS)]
    series = Series.objects.bulk_create(
        [
            Series(key=f"s-{i:04d}", kind="complaints_per_hour", scope="brand", brand=brands[i % BRANDS])
            for i in range(SERIES)
        ]
    )
    kinds = [
        ("threshold", {"op": "above", "value": 10_000}),
        ("rate", {"percent": 900, "window_minutes": 180}),
        ("spike", {"z": 12}),
    ]
    Rule.objects.bulk_create(
        [
            Rule(
                name=f"rule {i}",
                brand=s.brand,
                kind=kinds[i % 3][0],
                series=s,
                params=kinds[i % 3][1],
                crisis_type="service_quality",
            )
            for i, s in enumerate(series)
        ]
    )
    ids = [s.pk for s in series]
    loaded_hours = 0

    def load_history(hours: int) -> None:
        """History up to `hours` hours per series, straight into the tables."""
        nonlocal loaded_hours
        if hours <= loaded_hours:
            return
        started = time.perf_counter()
        value = "20 + 10 * sin(h / 24.0 * 2 * pi()) + (s.id %% 7) + ((h * 7919 + s.id * 104729) %% 5)"
        with connection.cursor() as cursor:
            if vendor != "postgresql":
                sys.exit("bench/signals.py measures PostgreSQL (generate_series, COPY)")
            cursor.execute(
                f"INSERT INTO watch_point (series_id, at, value) "
                f"SELECT s.id, %s + h * INTERVAL '1 hour', {value} "
                f"FROM watch_series s CROSS JOIN generate_series(%s, %s) AS h",
                [START, loaded_hours, hours - 1],
            )
            cursor.execute("DELETE FROM watch_baseline")
            cursor.execute(
                "INSERT INTO watch_baseline (series_id, bucket, n, mean, var) "
                "SELECT series_id, (EXTRACT(ISODOW FROM at AT TIME ZONE 'UTC')::int - 1) * 24 "
                "+ EXTRACT(HOUR FROM at AT TIME ZONE 'UTC')::int, count(*), avg(value), coalesce(var_pop(value), 0) "
                "FROM watch_point GROUP BY 1, 2"
            )
            cursor.execute(
                "UPDATE watch_series s SET last_at = p.at, last_value = p.value, points_count = %s "
                "FROM watch_point p WHERE p.series_id = s.id AND p.at = %s + (%s - 1) * INTERVAL '1 hour'",
                [hours, START, hours],
            )
            cursor.execute("ANALYZE watch_point")
            cursor.execute("ANALYZE watch_baseline")
        loaded_hours = hours
        print(
            f"  history loaded: {hours * SERIES:,} points in {time.perf_counter() - started:.1f}s",
            flush=True,
        )

    results = {}
    for size in sizes:
        hours = max(1, size // SERIES)
        load_history(hours)
        ingest_times, eval_times, fired = [], [], 0
        client_cpu: list[float] = []
        server_cpu: list[float] = []
        for _batch in range(args.batches):
            first = START + timedelta(hours=loaded_hours)
            rows = []
            for h in range(BATCH_HOURS):
                at = first + timedelta(hours=h)
                for n, pk in enumerate(ids):
                    rows.append((pk, at, 20.0 + (n % 7) + ((h * 31 + n) % 5)))
            # Ten series jump in the last hour of each batch, all watched by threshold
            # rules (every third series), so every history size fires the same ten times:
            # the figures compare evaluating, not different numbers of incidents.
            for n in range(0, SERIES, 102):
                rows[-SERIES + n] = (ids[n], rows[-SERIES + n][1], 20_000.0)
            now = first + timedelta(hours=BATCH_HOURS)
            server_before = backend_cpu(connection)
            cpu_before = time.process_time()
            started = time.perf_counter()
            received = ingest.receive(points=rows, now=now)
            ingest_times.append(time.perf_counter() - started)
            client_cpu.append(time.process_time() - cpu_before)
            server_after = backend_cpu(connection)
            if server_before is not None and server_after is not None:
                server_cpu.append(server_after - server_before)
            started = time.perf_counter()
            fired += len(evaluate(rules_to_check(now, series_ids=received.series), now, fresh=True))
            eval_times.append(time.perf_counter() - started)
            loaded_hours += BATCH_HOURS
        rate = BATCH_HOURS * SERIES / statistics.median(ingest_times)
        evaluation = statistics.median(eval_times)
        results[size] = (rate, evaluation)
        # CPU per point says what a batch costs whatever else the machine is doing.
        points = BATCH_HOURS * SERIES
        cpu = f"client {statistics.median(client_cpu) / points * 1e6:.1f}"
        if server_cpu:
            cpu += f" + database {statistics.median(server_cpu) / points * 1e6:.1f}"
        print(f"  ingestion CPU per point: {cpu} µs", flush=True)
        print(
            f"history {hours * SERIES:>10,} points: ingest {rate:>9,.0f} points/s "
            f"(batches {', '.join(f'{t * 1000:.0f}' for t in ingest_times)} ms); "
            f"rules evaluated after each batch in {evaluation * 1000:.0f} ms median "
            f"({', '.join(f'{t * 1000:.0f}' for t in eval_times)} ms); fired {fired}; load {loadavg()}",
            flush=True,
        )

    print(f"sentiment accuracy: {sentiment_accuracy()}")
    print(f"load after: {loadavg()}")
    largest, smallest = results[sizes[-1]], results[sizes[0]]
    print(f"ingest_per_s={largest[0]:.0f} eval_ratio={largest[1] / smallest[1]:.2f}")


def backend_cpu(connection) -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend, when the server
    runs on this machine (read from /proc); None otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def sentiment_accuracy() -> str:
    from crisisflow.watch import sentiment

    sample = Path(__file__).resolve().parent.parent / "tests" / "data" / "sentiment_sample.tsv"
    right = total = 0
    per_language: dict[str, list[int]] = {}
    for line in sample.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, language, text = line.split("\t", 2)
        ok = sentiment.classify(text, language)[0] == label
        right += ok
        total += 1
        per_language.setdefault(language, [0, 0])
        per_language[language][0] += ok
        per_language[language][1] += 1
    parts = ", ".join(f"{lang} {r}/{n}" for lang, (r, n) in sorted(per_language.items()))
    return f"{right}/{total} = {right / total:.1%} ({parts})"


if __name__ == "__main__":
    main()
