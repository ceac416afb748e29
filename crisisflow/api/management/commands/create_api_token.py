"""Create an API token for a person and print it (the only time it is ever shown).

manage.py create_api_token <username> --scope read|write --name "status page" [--expires-days 90]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from crisisflow.api import tokens
from crisisflow.api.models import ApiToken
from crisisflow.incidents.errors import CrisisFlowError
from crisisflow.people.models import User


class Command(BaseCommand):
    help = "Create an API token for a person; the token is printed once and stored only as a digest."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--scope", choices=ApiToken.Scope.values, required=True)
        parser.add_argument("--name", required=True, help="what the token is for, e.g. the program using it")
        parser.add_argument("--expires-days", type=int, default=None, help="days until it expires (default: never)")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        try:
            token, secret = tokens.create_token(
                user, name=options["name"], scope=options["scope"], expires_in_days=options["expires_days"]
            )
        except CrisisFlowError as err:
            raise CommandError(f"{err.field}: {err.message}" if err.field else str(err.message)) from None
        self.stderr.write(
            f"Token {token.display} ({token.get_scope_display()}) for {user.username}; "
            "it is shown only now, store it safely:"
        )
        self.stdout.write(secret)
