"""Outbreak times between 2000 and 2100 only, as a CHECK constraint.

Before the constraint is added, an incident already stored with an outbreak time outside
that range (a year-1 date saved from the report form became a date BC, which the
database driver cannot read back: every list page failed) gets its report time as its
outbreak time instead. Only raw SQL touches those rows, since the ORM cannot load them;
the references repaired are printed, and the original value stays on the timeline in the
"reported" event.
"""

import datetime

from django.db import migrations, models

EARLIEST = datetime.datetime(2000, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
LATEST = datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)


def repair_outbreak_times(apps, schema_editor):
    Incident = apps.get_model("incidents", "Incident")
    table = schema_editor.quote_name(Incident._meta.db_table)
    outside = "detected_at < %s OR detected_at >= %s"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT reference FROM {table} WHERE {outside}", [EARLIEST, LATEST])  # noqa: S608
        references = [row[0] for row in cursor.fetchall()]
        if references:
            cursor.execute(f"UPDATE {table} SET detected_at = reported_at WHERE {outside}", [EARLIEST, LATEST])  # noqa: S608
            print(f"\n  Outbreak time out of range, set to the report time: {', '.join(references)}")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_timeline_head_and_append_only_triggers"),
    ]

    operations = [
        migrations.RunPython(repair_outbreak_times, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(("detected_at__gte", EARLIEST), ("detected_at__lt", LATEST)),
                name="incident_detected_at_in_range",
            ),
        ),
    ]
