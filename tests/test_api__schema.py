"""The API describes itself: an OpenAPI 3 schema generated from the code at /api/schema/,
valid and warning-free, covering every endpoint and every error shape, and a docs page
that needs nothing from outside this site."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import jsonschema
import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLPattern, URLResolver
from rest_framework.test import APIClient

from crisisflow.api import urls as api_urls
from crisisflow.incidents.models import Incident
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

NOT_DESCRIBED = {"schema", "docs"}  # the description itself


@pytest.fixture(scope="module")
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def api_routes(patterns=api_urls.urlpatterns, prefix="/api/"):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name not in NOT_DESCRIBED:
            route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + str(pattern.pattern))
            yield route, pattern


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_schema_is_valid_openapi_without_a_single_warning(tmp_path):
    # The same check as scripts/test's static checks, for when tests are picked by hand.
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    loaded = yaml.safe_load(out.read_text())
    assert loaded["openapi"].startswith("3.")


def test_the_schema_is_served_to_anyone_as_yaml_or_json(people):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content)["info"]["title"] == "CrisisFlow API"
    as_json = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert as_json.status_code == 200 and as_json.json()["paths"]


def test_every_endpoint_and_method_is_described(schema):
    for route, pattern in api_routes():
        assert route in schema["paths"], route
        view = pattern.callback
        methods = {m for m in getattr(view.cls, "http_method_names", []) if m not in ("options", "head")}
        methods &= {m for m in ("get", "post", "patch", "put", "delete") if hasattr(view.cls, m)}
        assert methods and methods == set(schema["paths"][route]), route
    assert len(schema["paths"]) == len(list(api_routes()))


def test_every_operation_describes_its_errors(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        for status in ("401", "403"):
            described = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert described.split("/")[-1] in ("Error", "TaskRefusal"), where
        if "{" in path:
            assert "404" in responses, where
        if "requestBody" in operation:
            assert "400" in responses, where
            assert "409" in responses, where
        assert any(code.startswith("2") or code == "304" for code in responses), where


def test_the_error_components_match_what_the_api_writes(schema):
    components = schema["components"]["schemas"]
    assert set(components["Error"]["required"]) == {"detail", "field"}
    assert components["Error"]["properties"]["field"]["nullable"] is True
    assert "blockers" in components["Conflict"]["properties"]
    assert "errors" in components["InvalidInput"]["properties"]
    assert "task" in components["TaskConflict"]["properties"]


def as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` in JSON Schema's words."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_a_throttled_view_describes_its_429(settings):
    """Throttling, when settings.REST_FRAMEWORK gets it, is described without touching a view."""
    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.utils import extend_schema
    from rest_framework.response import Response
    from rest_framework.throttling import AnonRateThrottle
    from rest_framework.views import APIView

    class Plain(APIView):
        throttle_classes = []  # the API's own views all have some (see settings)

        @extend_schema(responses={200: None})
        def get(self, request):
            return Response()

    class Throttled(Plain):
        throttle_classes = [AnonRateThrottle]

    generated = SchemaGenerator(patterns=[path("api/plain/", Plain.as_view()), path("api/slow/", Throttled.as_view())])
    paths = generated.get_schema(request=None, public=True)["paths"]
    assert "429" not in paths["/api/plain/"]["get"]["responses"]
    assert "429" in paths["/api/slow/"]["get"]["responses"]


def validate(schema: dict, component: str, instance) -> None:
    """Check an answer against a component, $refs resolved within the schema."""
    document = {"$ref": f"#/components/schemas/{component}", "components": as_json_schema(schema["components"])}
    jsonschema.Draft202012Validator(document).validate(instance)


def test_real_answers_fit_the_described_shapes(schema, people, plan):
    incident: Incident = walk_to(people, report(people), "team_assembled")
    commander = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    commander.force_authenticate(people.commander)
    detail = commander.get(f"/api/incidents/{incident.reference}/")
    validate(schema, "IncidentDetail", detail.json())

    blocked = commander.post(f"/api/incidents/{incident.reference}/steps/publish/", {}, format="json")
    assert blocked.status_code == 409 and blocked.json()["blockers"]
    validate(schema, "Conflict", blocked.json())

    unparsed = commander.post(f"/api/incidents/{incident.reference}/severity/", {"severity": 3}, format="json")
    assert unparsed.status_code == 400
    validate(schema, "InvalidInput", unparsed.json())

    stale = commander.post(
        f"/api/incidents/{incident.reference}/severity/",
        {"severity": "low", "reason": "x", "expected_version": incident.version - 1},
        format="json",
    )
    assert stale.status_code == 409
    validate(schema, "Conflict", stale.json())
    with pytest.raises(jsonschema.ValidationError):
        validate(schema, "Error", {"detail": "no field key"})


def test_an_address_under_api_that_matches_nothing_is_a_json_404(browse, people):
    client = browse(people.commander)
    for path in ("/api/nothing/here/", "/api/tasks/-1/", "/api/incidents/CF-1/evidence/x/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "No such address in the API.", "field": None}
    chinese = browse(people.outsider, "zh-hans").get("/api/nothing/here/")
    assert chinese.json() == {"detail": "API 中没有这个地址。", "field": None}
    # The rest of the site keeps its own 404 page.
    page = client.get("/nothing/here/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


# --- the docs page ------------------------------------------------------------------------------


class Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[str | None] = []
        self.inline: list[str] = []
        self.links: list[str] = []
        self.styles = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs:
            self.styles += 1
        if tag == "script":
            self.scripts.append(attrs.get("src"))
            self._in_script = True
        elif tag == "link":
            self.links.append(attrs.get("href"))
        elif tag == "style":
            self.styles += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(data)


def test_the_docs_page_uses_only_this_sites_files_and_nothing_inline(client, people):
    client.force_login(people.commander)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assets = Assets()
    assets.feed(response.content.decode())
    assert assets.inline == [] and assets.styles == 0  # works under a CSP without 'unsafe-inline'
    assert len(assets.scripts) == 3 and all(assets.scripts)
    for url in [*assets.scripts, *assets.links]:
        assert url.startswith("/"), url  # nothing from a CDN
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    init = [src for src in assets.scripts if not src.startswith("/static/")]
    assert init == ["/api/docs/?script="]
    script = client.get(init[0])
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in script.content.decode()
