"""The timeline head (where each timeline ends) and the database triggers that keep the
timeline append-only. See crisisflow/incidents/append_only.py."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from crisisflow.incidents import append_only


def record_heads(apps, schema_editor):
    """Every existing timeline's last event becomes its head."""
    Incident = apps.get_model("incidents", "Incident")
    Event = apps.get_model("incidents", "Event")
    TimelineHead = apps.get_model("incidents", "TimelineHead")
    db = schema_editor.connection.alias
    last = Event.objects.using(db).filter(incident=OuterRef("pk")).order_by("-seq")
    rows = (
        Incident.objects.using(db)
        .annotate(last_seq=Subquery(last.values("seq")[:1]), last_hash=Subquery(last.values("hash")[:1]))
        .filter(last_seq__isnull=False)
        .values_list("pk", "last_seq", "last_hash")
    )
    TimelineHead.objects.using(db).bulk_create(
        [TimelineHead(incident_id=pk, seq=seq, hash=hash_) for pk, seq, hash_ in rows.iterator()], batch_size=1000
    )


def install_triggers(apps, schema_editor):
    append_only.install(schema_editor.connection)


def uninstall_triggers(apps, schema_editor):
    append_only.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_golden_clock_from_report_and_triage"),
    ]

    operations = [
        migrations.CreateModel(
            name="TimelineHead",
            fields=[
                (
                    "incident",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="timeline_head",
                        serialize=False,
                        to="incidents.incident",
                    ),
                ),
                ("seq", models.PositiveIntegerField()),
                ("hash", models.CharField(max_length=64)),
            ],
            options={
                "verbose_name": "timeline head",
                "verbose_name_plural": "timeline heads",
            },
        ),
        migrations.RunPython(record_heads, migrations.RunPython.noop, elidable=False),
        # Vendor-specific SQL (PostgreSQL and SQLite); append_only.uninstall is the way back.
        migrations.RunPython(install_triggers, uninstall_triggers, elidable=False),
    ]
