"""How long does the playbook checker take on files made to hurt it?

Checks each hostile file (a YAML bomb, deep nesting, as many values as fit in the size
limit, huge values, a dependency chain as long as the value limit allows...) K times and
prints the median time and the first error of each. No database is needed.
Last line: worst_ms=<slowest median> (target: well under 1000).

    .venv/bin/python bench/playbook_abuse.py [K]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

K = int(sys.argv[1]) if len(sys.argv) > 1 else 5

HEADER = """\
key: plan
name: {zh: 预案, en: Plan}
description: {zh: 说明, en: About}
serves: {crisis_types: [service_outage], severities: [low]}
roles: {commander: 1, pr: 1}
tasks:
"""
TASK = (
    "- {{key: t{i}, title: {{zh: 一, en: One}}, instructions: {{zh: 做, en: Do}}, role: pr, "
    "stage: confirm, due: {{anchor: detected, offset: 1h}}, depends_on: [t{j}]}}\n"
)


def fill(prefix: str, unit: str, suffix: str, limit: int) -> str:
    return prefix + unit * ((limit - len(prefix.encode()) - len(suffix)) // len(unit.encode())) + suffix


def hostile_files(limit: int) -> dict[str, str]:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return {
        "billion laughs (342 bytes)": "\n".join(levels) + "\n",
        "5,000 nested lists": "key: " + "[" * 5000 + "]" * 5000 + "\n",
        "a flow list up to the size limit": fill("key: [", "a,", "a]\n", limit),
        "mappings up to the size limit": fill("", "a: 1\n", "", limit),
        "one value of the whole size": fill("key: ", "x", "\n", limit),
        "tasks chained backwards": HEADER + "".join(TASK.format(i=i, j=i + 1) for i in range(400)),
        "bare tasks chained backwards": HEADER
        + "".join(f"- {{key: t{i}, depends_on: [t{i + 1}]}}\n" for i in range(1650)),
        "unknown fields up to the size limit": fill(HEADER + "- {key: a", ", f: 1", "}\n", limit),
        "the largest built-in playbook": (ROOT / "playbooks" / "data_breach.yaml").read_text(encoding="utf-8"),
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crisisflow.settings")
    import django

    django.setup()
    from crisisflow.playbooks.schema import check_text, max_bytes

    limit = max_bytes()
    worst = 0.0
    print(f"size_limit_bytes={limit} runs={K}")
    for name, text in hostile_files(limit).items():
        samples = []
        for _ in range(K):
            started = time.perf_counter()
            _, errors = check_text(text, "hostile.yaml")
            samples.append(time.perf_counter() - started)
        median = statistics.median(samples) * 1000
        worst = max(worst, median)
        first = str(errors[0]) if errors else "no errors"
        print(f"{name}: {len(text.encode()):,} bytes, {median:.1f} ms, {len(errors)} errors; {first[:110]}")
    print(f"worst_ms={worst:.1f}")


if __name__ == "__main__":
    main()
