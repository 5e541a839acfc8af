"""The OpenAPI schema, made true to every response the service gives.

FastAPI describes a 422 as `HTTPValidationError` (`detail` a list) and knows nothing of what the
middleware and handlers answer. This rewrites the generated schema once, centrally:
- every 4xx/5xx body is the product's: `{"detail": str, ...}`, a 422 also `errors` (and `more_errors`);
- 400 (an unparseable body) on operations with a body, 413 (body over MAX_BODY_BYTES) everywhere,
  401 and the bearer scheme on mutating operations when API_TOKEN is set;
- POST /automation/run's body is the exact set of jobs and actions with their parameters.
Route-specific statuses (404, 409, 412, 502, 503) are declared by the routes themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from myassistant.api.deps import SAFE_METHODS
from myassistant.api.security import BEARER_SCHEME
from myassistant.core.config import Settings
from myassistant.core.text import PLAIN_TEXT_PATTERN
from myassistant.jobs.registry import JobTable

REF = "#/components/schemas/"
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "what went wrong, in words"}},
    "required": ["detail"],
    "additionalProperties": True,
}
FIELD_ERROR: dict[str, Any] = {
    "title": "FieldError",
    "type": "object",
    "properties": {
        "field": {"type": "string", "description": "where: body.text, query.limit, ..."},
        "message": {"type": "string"},
        "type": {"type": "string", "description": "pydantic error type, or control_character"},
    },
    "required": ["field", "message", "type"],
    "additionalProperties": False,
}
VALIDATION_ERROR_BODY: dict[str, Any] = {
    "title": "ValidationErrorBody",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "every reported problem in one line"},
        "errors": {
            "type": "array",
            "items": {"$ref": f"{REF}FieldError"},
            "maxItems": 20,
            "description": "one entry per problem (at most 20), when the request failed validation",
        },
        "more_errors": {"type": "integer", "minimum": 1, "description": "problems beyond those listed"},
    },
    "required": ["detail"],
    "additionalProperties": True,
}

COMMON_ERRORS: dict[str, str] = {
    "400": "the body could not be read (not UTF-8, or nested too deep)",
    "401": "missing or invalid API token",
    "413": "request body over MAX_BODY_BYTES, or more than 20,000 JSON values",
    "422": "invalid input; `errors` names each field",
}


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the rewritten schema from /openapi.json (built once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            describe_run_request(schema, jobs=app.state.jobs, actions=app.state.actions)
            rewrite(schema, token_required=settings.api_token is not None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _json(schema_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"{REF}{schema_ref}"}}}


def _response(responses: dict[str, Any], status: str, description: str, body: str) -> None:
    response = responses.setdefault(status, {"description": description})
    response["content"] = _json(body)


def rewrite(schema: dict[str, Any], *, token_required: bool) -> None:
    """Declare the real error bodies, the statuses every operation can answer, and plain text."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _plain_text_inputs(schema, components)
    for name in FASTAPI_VALIDATION_SCHEMAS:
        components.pop(name, None)
    components.update(ErrorBody=ERROR_BODY, FieldError=FIELD_ERROR, ValidationErrorBody=VALIDATION_ERROR_BODY)
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            _rewrite_operation(method.upper(), operation, token_required=token_required)
    if token_required:
        schema["components"]["securitySchemes"] = {
            BEARER_SCHEME: {"type": "http", "scheme": "bearer", "description": "API_TOKEN"}
        }


def _rewrite_operation(method: str, operation: dict[str, Any], *, token_required: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if operation.get("parameters") or "requestBody" in operation:
        _response(responses, "422", COMMON_ERRORS["422"], "ValidationErrorBody")
    if "requestBody" in operation:
        _response(responses, "400", COMMON_ERRORS["400"], "ErrorBody")
    _response(responses, "413", COMMON_ERRORS["413"], "ErrorBody")
    if token_required and method not in SAFE_METHODS:
        _response(responses, "401", COMMON_ERRORS["401"], "ErrorBody")
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}}
        operation["security"] = [{BEARER_SCHEME: []}]
    for status, response in responses.items():
        if status[0] in "45" and status != "422":
            response["content"] = _json("ErrorBody")


# ---------------------------------------------------------------- text without control characters

# Keys whose values are data, not schemas.
_DATA_KEYS = frozenset({"examples", "example", "default", "const", "enum"})


def _plain_text_inputs(schema: dict[str, Any], components: dict[str, Any]) -> None:
    """Every request string (and object key) without a pattern of its own gets core.text's rule."""
    seen: set[str] = set()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _plain_text(parameter.get("schema", {}), components, seen)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _plain_text(content.get("schema", {}), components, seen)


def _plain_text(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _plain_text(item, components, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF) and ref not in seen:
        seen.add(ref)
        _plain_text(components.get(ref.removeprefix(REF)), components, seen)
    if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & node.keys():
        node["pattern"] = PLAIN_TEXT_PATTERN
    if node.get("type") == "object" and "additionalProperties" in node and "propertyNames" not in node:
        node["propertyNames"] = {"pattern": PLAIN_TEXT_PATTERN}
    for key, value in node.items():
        if key not in _DATA_KEYS:
            _plain_text(value, components, seen)


# ---------------------------------------------------------------- POST /automation/run


def _model_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """`model`'s JSON schema inline, its nested models added to the components."""
    schema = model.model_json_schema(ref_template=REF + "{model}")
    components.update(schema.pop("$defs", {}))
    return schema


def _run_variant(
    key: str, name: str, params: type[BaseModel] | None, components: dict[str, Any]
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        key: {"type": "string", "const": name},
        "wait": {"type": "boolean", "default": True, "description": "false: start in the background, 202"},
    }
    required = [key]
    if params is not None:
        schema = _model_schema(params, components)
        properties.update(schema.get("properties", {}))
        required += schema.get("required", [])
    return {
        "title": f"{key} {name}",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def describe_run_request(schema: dict[str, Any], *, jobs: JobTable, actions: JobTable) -> None:
    """POST /automation/run takes exactly one job or action, with that job's or action's parameters."""
    operation = schema.get("paths", {}).get("/automation/run", {}).get("post")
    if operation is None:
        return
    components = schema["components"]["schemas"]
    variants = [_run_variant("job", d.name, d.params, components) for d in jobs.all()]
    variants += [_run_variant("action", d.name, d.params, components) for d in actions.all()]
    operation["requestBody"]["content"]["application/json"]["schema"] = {"oneOf": variants}
    components.pop("RunRequest", None)
