"""The OpenAPI 3 description of the JSON API (tests check it matches the routes)."""

from __future__ import annotations

ERROR = {"$ref": "#/components/responses/Error"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _params(*names: str) -> list[dict]:
    known = {
        "node": {
            "name": "node",
            "in": "query",
            "schema": {"type": "string"},
            "description": "room (node id); default: the remembered or own room",
        },
        "from": {
            "name": "from",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "format": "date-time"},
        },
        "to": {
            "name": "to",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "format": "date-time"},
            "description": "exclusive; at most 31 days after from",
        },
        "limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        "offset": {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        "include_deleted": {
            "name": "include_deleted",
            "in": "query",
            "schema": {"type": "string", "enum": ["0", "1", "true", "false"]},
        },
        "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
    }
    return [known[n] for n in names]


CRAMP_FIELDS = {
    "ts": {"type": "string", "format": "date-time"},
    "leg": {"type": ["string", "null"], "enum": ["left", "right", "both", None]},
    "severity": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
    "note": {"type": ["string", "null"], "maxLength": 2000},
    "remedy": {
        "type": ["string", "null"],
        "enum": ["stretch", "reposition", "heat", "massage", "other", None],
    },
    "relief_min": {"type": ["number", "null"], "minimum": 0, "maximum": 1440},
}


def spec() -> dict:
    cramp_in = {"type": "object", "additionalProperties": False, "properties": CRAMP_FIELDS}
    cramp = {"type": "object"}
    write = {"security": [{"bearer": []}, {"basic": []}, {}]}
    errors = {"400": ERROR, "401": ERROR, "404": ERROR, "413": ERROR, "415": ERROR}
    return {
        "openapi": "3.1.0",
        "info": {"title": "bedside dashboard API", "version": "1"},
        "paths": {
            "/api/current": {
                "get": {
                    "summary": "the room now",
                    "parameters": _params("node"),
                    "responses": {"200": _json({"type": "object"}), "404": ERROR},
                }
            },
            "/api/readings": {
                "get": {
                    "summary": "readings in [from, to)",
                    "parameters": _params("from", "to", "node"),
                    "responses": {"200": _json({"type": "object"}), "400": ERROR, "404": ERROR},
                }
            },
            "/api/nights": {
                "get": {
                    "summary": "night summaries, newest first",
                    "parameters": _params("limit", "offset", "node"),
                    "responses": {"200": _json({"type": "object"}), "400": ERROR, "404": ERROR},
                }
            },
            "/api/cramps": {
                "get": {
                    "summary": "cramps, newest first",
                    "parameters": _params("limit", "offset", "include_deleted", "node"),
                    "responses": {"200": _json({"type": "object"}), "400": ERROR, "404": ERROR},
                },
                "post": {
                    "summary": "log a cramp (ts defaults to now)",
                    **write,
                    "parameters": _params("node"),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": cramp_in}},
                    },
                    "responses": {
                        "201": _json(cramp, "created"),
                        "200": _json(cramp, "already logged at that instant"),
                        **errors,
                    },
                },
            },
            "/api/cramps/{id}": {
                "patch": {
                    "summary": "change a cramp's details",
                    **write,
                    "parameters": _params("id"),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": cramp_in}},
                    },
                    "responses": {"200": _json(cramp), "409": ERROR, **errors},
                },
                "delete": {
                    "summary": "delete (restorable)",
                    **write,
                    "parameters": _params("id"),
                    "responses": {"200": _json(cramp), "401": ERROR, "404": ERROR},
                },
            },
            "/api/cramps/{id}/restore": {
                "post": {
                    "summary": "undo a delete (send an empty JSON object: a cross-site"
                    " form cannot)",
                    **write,
                    "parameters": _params("id"),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "additionalProperties": False}
                            }
                        },
                    },
                    "responses": {
                        "200": _json(cramp),
                        "400": ERROR,
                        "401": ERROR,
                        "404": ERROR,
                        "415": ERROR,
                    },
                },
            },
            "/api/evidence": {
                "get": {
                    "summary": "the stored analysis report (spec JSON)",
                    "parameters": _params("node"),
                    "responses": {"200": _json({"type": "object"}), "404": ERROR},
                }
            },
            "/api/study": {
                "get": {
                    "summary": "the stored pooled study report (`bedside analyze --pooled --json`"
                    " keys, with node ids) plus left_out, zones and its freshness; 404 before"
                    " the first one is stored",
                    "responses": {"200": _json({"type": "object"}), "404": ERROR},
                }
            },
            "/api/trial": {
                "get": {
                    "summary": "the warm-night trial as `bedside trial show --json` shows it"
                    " (arms only from their announce time); the report once it is over",
                    "parameters": _params("node"),
                    "responses": {"200": _json({"type": "object"}), "404": ERROR},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "liveness: 503 when the database is damaged",
                    "responses": {"200": _json({"type": "object"}), "503": ERROR},
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "this description",
                    "responses": {"200": _json({"type": "object"})},
                }
            },
        },
        "components": {
            "responses": {
                "Error": _json(
                    {
                        "type": "object",
                        "required": ["error"],
                        "properties": {"error": {"type": "string"}},
                    },
                    "error",
                )
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the [web] password as the token",
                },
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }
