"""How fast is activating a plan, against the bare cost of writing its rows?

Activates the largest built-in playbook N times and prints, per activation: the number
of queries (must be the same for a small and a large plan), the median time, and the
median time of a raw bulk insert of the same task and dependency rows in the same run.
Last line: ratio=<activation / raw insert> (target <= 3).

    .venv/bin/python bench/activation.py [N]
"""

from __future__ import annotations

import sys
import time

from common import median_ms, setup

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50


def main() -> None:
    vendor = setup("crisisflow_bench_activation")

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from crisisflow.incidents import actions
    from crisisflow.incidents.models import Task
    from crisisflow.people.models import RosterEntry, User
    from crisisflow.playbooks.loader import load_playbooks
    from crisisflow.playbooks.models import current_versions

    load_playbooks()
    largest = max(current_versions(), key=lambda v: len(v.tasks))
    smallest = min(current_versions(), key=lambda v: len(v.tasks))
    commander = User.objects.create_user("bench-commander", password=None)
    RosterEntry.objects.create(role="commander", user=commander)
    reporter = User.objects.create_user("bench-reporter", password=None)
    facts = dict(
        personal_data=True,
        injuries=True,
        financial_loss=True,
        regulator_involved=True,
        media_coverage=True,
        affected_users=5_000_000,
    )

    def confirmed(crisis_type: str):
        incident = actions.report_incident(
            reporter, title="bench", crisis_type=crisis_type, severity="critical", **facts
        )
        return actions.confirm_incident(commander, incident)

    def queries_for(version) -> tuple[int, int]:
        incident = confirmed(version.definition["crisis_types"][0])
        with CaptureQueriesContext(connection) as ctx:
            incident = actions.activate_plan(commander, incident, playbook_key=version.key)
        return len(ctx.captured_queries), incident.tasks.count()

    small_q, small_n = queries_for(smallest)
    large_q, large_n = queries_for(largest)

    crisis_type = largest.definition["crisis_types"][0]
    activation: list[float] = []
    raw: list[float] = []
    for _ in range(N):
        incident = confirmed(crisis_type)
        start = time.perf_counter()
        incident = actions.activate_plan(commander, incident, playbook_key=largest.key)
        activation.append(time.perf_counter() - start)

        # The baseline: the same rows, prepared up front, written with two bulk inserts.
        template = list(incident.tasks.all())
        deps = list(Task.depends_on.through.objects.filter(from_task__incident=incident))
        other = confirmed(crisis_type)
        rows = [
            Task(
                incident=other,
                key=t.key,
                position=t.position,
                title=t.title,
                instructions=t.instructions,
                role=t.role,
                stage=t.stage,
                deliverable=t.deliverable,
                gates=t.gates,
                checklist=t.checklist,
                anchor=t.anchor,
                offset=t.offset,
                due_at=t.due_at,
            )
            for t in template
        ]
        index = {t.pk: i for i, t in enumerate(template)}
        start = time.perf_counter()
        with transaction.atomic():
            Task.objects.bulk_create(rows)
            Task.depends_on.through.objects.bulk_create(
                [
                    Task.depends_on.through(
                        from_task_id=rows[index[d.from_task_id]].pk, to_task_id=rows[index[d.to_task_id]].pk
                    )
                    for d in deps
                ]
            )
        raw.append(time.perf_counter() - start)

    act_ms, raw_ms = median_ms(activation), median_ms(raw)
    print(f"database={vendor} activations={N} playbook={largest.key} tasks={large_n}")
    print(
        f"queries_per_activation: {small_q} for {smallest.key} ({small_n} tasks), "
        f"{large_q} for {largest.key} ({large_n} tasks)"
    )
    print(f"activation_median_ms={act_ms:.2f} raw_bulk_insert_median_ms={raw_ms:.2f}")
    print(f"ratio={act_ms / raw_ms:.2f}")


if __name__ == "__main__":
    main()
