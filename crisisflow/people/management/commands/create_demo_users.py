"""Create the demo crisis team: one person per role, backups where the built-in playbooks
need more than one person in a role (enough to staff every one of them), an admin.

Safe to run again: people and roster entries are matched by username and role, so a
second run changes nothing. The password is known and printed, which is why the command
refuses to run with DEBUG off unless told --force.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role

DEMO_PASSWORD = "crisis-demo-2026"


@dataclass(frozen=True)
class DemoPerson:
    username: str
    display_name: str
    last_name: str  # family name in pinyin
    first_name: str
    role: Role
    rank: RosterEntry.Rank = RosterEntry.Rank.PRIMARY
    language: str = "zh-hans"


BACKUP = RosterEntry.Rank.BACKUP

TEAM: tuple[DemoPerson, ...] = (
    DemoPerson("commander", "王建国", "Wang", "Jianguo", Role.COMMANDER),
    DemoPerson("pr", "李静", "Li", "Jing", Role.PR),
    DemoPerson("pr2", "周晓雯", "Zhou", "Xiaowen", Role.PR, BACKUP),
    DemoPerson("legal", "张明", "Zhang", "Ming", Role.LEGAL),
    DemoPerson("legal2", "孙立", "Sun", "Li", Role.LEGAL, BACKUP, language="en"),
    DemoPerson("service", "刘芳", "Liu", "Fang", Role.CUSTOMER_SERVICE),
    DemoPerson("service2", "郑好", "Zheng", "Hao", Role.CUSTOMER_SERVICE, BACKUP),
    DemoPerson("service3", "何雨", "He", "Yu", Role.CUSTOMER_SERVICE, BACKUP),
    DemoPerson("brand", "陈思远", "Chen", "Siyuan", Role.BRAND_MARKETING),
    DemoPerson("analyst", "杨帆", "Yang", "Fan", Role.ANALYST),
    DemoPerson("analyst2", "林可", "Lin", "Ke", Role.ANALYST, BACKUP),
    DemoPerson("security", "赵磊", "Zhao", "Lei", Role.TECH_SECURITY, language="en"),
    DemoPerson("security2", "钱锋", "Qian", "Feng", Role.TECH_SECURITY, BACKUP),
    DemoPerson("executive", "黄志强", "Huang", "Zhiqiang", Role.EXECUTIVE),
    DemoPerson("observer", "吴婷", "Wu", "Ting", Role.OBSERVER),
)


class Command(BaseCommand):
    help = "Create (or refresh) demo users for every crisis role, with roster entries and an admin."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password for every demo login")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off (creates known passwords)")

    def handle(self, *args, password: str, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: refusing to create demo users with a known password. "
                "Use --force if this really is a demo installation."
            )
        with transaction.atomic():
            rows = [self._admin(password)]
            rows += [self._person(person, password) for person in TEAM]
        self._print_table(rows, password)

    def _admin(self, password: str) -> tuple[str, str, str]:
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={"display_name": "系统管理员", "is_staff": True, "is_superuser": True},
        )
        if not created and not (admin.is_staff and admin.is_superuser):
            admin.is_staff = admin.is_superuser = True
            admin.save(update_fields=["is_staff", "is_superuser"])
        self._ensure_password(admin, password, created)
        return admin.username, admin.display_name, "superuser (admin site)"

    def _person(self, person: DemoPerson, password: str) -> tuple[str, str, str]:
        user, created = User.objects.update_or_create(
            username=person.username,
            defaults={
                "display_name": person.display_name,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "language": person.language,
                "email": f"{person.username}@demo.crisisflow.invalid",
            },
        )
        self._ensure_password(user, password, created)
        # Backups stand behind the primary; position orders people within a rank.
        RosterEntry.objects.update_or_create(role=person.role, user=user, defaults={"rank": person.rank, "position": 0})
        roles = ", ".join(f"{entry.role} ({entry.rank})" for entry in user.roster_entries.order_by("role"))
        return user.username, user.display_name, roles

    @staticmethod
    def _ensure_password(user: User, password: str, created: bool) -> None:
        # A second run leaves an unchanged password alone, so it does not rewrite rows.
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])

    def _print_table(self, rows: list[tuple[str, str, str]], password: str) -> None:
        lines = [("username", "password", "name", "roles")]
        lines += [(username, password, name, roles) for username, name, roles in rows]
        widths = [max(_columns(line[i]) for line in lines) for i in range(3)]
        self.stdout.write("Demo logins (the same password for everyone):")
        for line in lines:
            cells = [text + " " * (width - _columns(text)) for text, width in zip(line[:3], widths, strict=True)]
            self.stdout.write("  " + "  ".join([*cells, line[3]]))


def _columns(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
