"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

from ga4sync.settings import Settings
from ga4sync.web.app import create_app
from ga4sync.web.openapi import openapi_document


def _served() -> set[tuple[str, str]]:
    app = create_app(Settings(), "postgresql://unused")
    return {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.method not in ("HEAD", "OPTIONS") and route.resource is not None
    }


def test_every_route_is_documented_and_every_documented_route_exists():
    document = openapi_document()
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == _served()


def test_references_resolve_and_errors_share_one_schema():
    document = openapi_document()
    schemas = document["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
    run = document["paths"]["/v1/sync/ga4/run"]["post"]["responses"]
    assert {"202", "400", "401", "403", "409", "413"} <= set(run)
    assert run["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    # an error with more to say is still an Error
    conflict = run["409"]["content"]["application/json"]["schema"]
    assert conflict["allOf"][0] == {"$ref": "#/components/schemas/Error"}


def test_routes_that_call_google_document_its_failures():
    paths = openapi_document()["paths"]
    tokens = paths["/v1/connections/google/tokens"]["post"]["responses"]
    assert {"502", "504"} <= set(tokens)
    schemas = openapi_document()["components"]["schemas"]
    assert "google_unavailable" in schemas["Failure"]["properties"]["error"]["enum"]
    disconnected = paths["/v1/connections/google"]["delete"]["responses"]["200"]
    assert disconnected["content"]["application/json"]["schema"]["$ref"].endswith("Disconnected")
    assert (
        "google_unavailable"
        in paths["/v1/connections/google/callback"]["get"]["responses"]["302"]["description"]
    )


def test_every_operation_that_reads_the_database_declares_its_outage_answer():
    paths = openapi_document()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            described = operation["responses"].get("503", {}).get("description", "")
            if path in ("/", "/status", "/favicon.ico", "/openapi.json"):
                assert "database_unavailable" not in described, (method, path)
            else:
                assert "database_unavailable" in described, (method, path)
