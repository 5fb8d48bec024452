"""schemathesis drives the whole API from its OpenAPI description, as each role: no 500, answers that conform.

Bounded in time: a fixed number of examples per operation (GI_FUZZ_EXAMPLES, default 15)."""

import os
import re

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from gi_registry.api.openapi import build_spec

EXAMPLES = int(os.environ.get("GI_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def test_the_description_is_openapi_31_and_covers_the_contract(client, world):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    paths = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    for expected in [
        ("POST", "/tokens"),
        ("GET", "/products"),
        ("GET", "/licensees"),
        ("POST", "/licensees"),
        ("POST", "/licensees/{licensee_id}/licences"),
        ("POST", "/licences/{licence_id}/suspend"),
        ("POST", "/batches"),
        ("GET", "/batches"),
        ("POST", "/batches/{batch_id}/labels"),
        ("GET", "/batches/{batch_id}/labels"),
        ("GET", "/batches/{batch_id}/qr.png"),
        ("POST", "/batches/{batch_id}/recall"),
        ("GET", "/verify/{code}"),
        ("POST", "/reports"),
        ("GET", "/reports/{tracking_no}"),
        ("GET", "/reports"),
        ("PATCH", "/reports/{tracking_no}"),
    ]:
        assert expected in paths
    assert spec == build_spec()


def test_input_dates_are_described_as_the_strings_they_must_be():
    schemas = build_spec()["components"]["schemas"]
    for shape, name in [
        ("BatchCreate", "harvested_on"),
        ("BatchCorrect", "harvested_on"),
        ("LicenceCreate", "valid_from"),
        ("LicenceCreate", "valid_to"),
    ]:
        described = schemas[shape]["properties"][name]
        assert (described["type"], described["format"]) == ("string", "date"), (shape, name)


def test_a_path_parameter_the_description_admits_is_one_segment_of_the_path(client, token_for, world):
    """An empty tracking number made PUT /reports//product, which Werkzeug reads as /reports/product, a
    GET and PATCH address: an undocumented 405 (a dot segment does the same in clients that resolve it)."""
    assert client.put("/api/v1/reports//product", headers=token_for("regulator")).status_code == 405
    for path, ops in build_spec()["paths"].items():
        for op in ops.values():
            for param in (p for p in op["parameters"] if p["in"] == "path" and p["schema"]["type"] == "string"):
                for segment in ("", ".", "..", "a/b", "/"):
                    assert not jsonschema_rs.is_valid(param["schema"], segment), (path, param["name"], segment)
                assert jsonschema_rs.is_valid(param["schema"], "JB-20261129-ABCD2345"), (path, param["name"])


def test_every_operation_describes_the_422_an_unknown_query_parameter_gets(client, world):
    """The API refuses a query parameter it does not know on every route, also on those that declare none."""
    refused = client.get(f"/api/v1/licensees/{world['coop_a'].id}?expand=licences")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "unknown_query_parameter"
    for path, ops in build_spec()["paths"].items():
        for method, op in ops.items():
            assert "422" in op["responses"], (method, path)


@pytest.mark.parametrize(
    "query", ["product=anyue-lemon&product=no-such-mark", "product=no-such-mark&product=anyue-lemon", "q=a&q=b"]
)
def test_a_query_parameter_given_twice_is_refused_whichever_comes_first(client, world, token_for, query):
    """The first was used and the second dropped: the same two values in the other order gave another answer."""
    refused = client.get(f"/api/v1/batches?{query}", headers=token_for("regulator"))
    assert refused.status_code == 422 and refused.json["error"]["code"] == "repeated_query_parameter"
    assert list(refused.json["error"]["fields"].values()) == ["given more than once"]


def test_a_client_generator_gets_identifiers_photos_and_paging(client, world):
    spec = client.get("/api/v1/openapi.json").json
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids) and len(set(ids)) == len(ids)
    multipart = spec["paths"]["/reports"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert jsonschema_rs.is_valid(multipart, {"description": "标签可疑的柠檬", "photos": ["<file>", "<file>"]})
    assert not jsonschema_rs.is_valid(multipart, {"description": "标签可疑的柠檬", "photos": ["<file>"] * 4})
    assert "JPEG, HEIC/HEIF, PNG, WebP, GIF or BMP" in multipart["properties"]["photos"]["items"]["description"]
    assert "429" in spec["paths"]["/tokens"]["post"]["responses"]
    products = client.get("/api/v1/products?page=2&per_page=1").json
    assert (products["page"], products["per_page"], len(products["items"])) == (2, 1, 1)


def test_the_human_page_lists_every_operation(client, world):
    page = client.get("/api/docs").text
    assert "POST /api/v1/batches" in page and "PATCH /api/v1/reports/{tracking_no}" in page
    revoke = client.get("/api/docs?lang=zh").text.split("DELETE /api/v1/tokens/current</code></td>")[1]
    assert revoke.split("</tr>")[0].count("<td>") == 3 and "登记管理员、监管人员、合作社" in revoke  # who, in words


@pytest.fixture
def role_headers(token_for, labelled):
    """Anonymous, then a token per role; `labelled` gives the fuzzer real batches and codes to hit."""
    return [{}] + [token_for(who) for who in ("coop", "regulator", "admin")]


# Built from the same function the endpoint serves (the test above pins that they agree).
schema = schemathesis.openapi.from_dict(build_spec())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_breaks_the_api(case, app, role_headers):
    for headers in role_headers:
        case.call_and_validate(app=app, headers={**(case.headers or {}), **headers}, checks=CHECKS)
