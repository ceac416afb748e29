from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "crisisflow.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        checks.register(check_rates)


def check_rates(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A misspelt rate name would silently leave the default in place; say so."""
    from crisisflow.api.throttles import rates, unknown_rate_names
    from crisisflow.envconf import parse_rate

    errors = [
        checks.Error(
            f"CRISISFLOW['API_RATES'] has no rate named {name!r}",
            hint="known: " + ", ".join(sorted(rates())),
            id="crisisflow.E001",
        )
        for name in unknown_rate_names()
    ]
    for name, rate in rates().items():
        try:
            parse_rate(rate)
        except ValueError as err:
            errors.append(checks.Error(f"CRISISFLOW['API_RATES'][{name!r}]: {err}", id="crisisflow.E002"))
    return errors
