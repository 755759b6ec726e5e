"""A fake OpenAI-compatible HTTP server for tests and benchmarks.

Tests need a real socket so that the real ``openai`` and ``httpx`` clients (and whatever the
providers build on them) run their own code paths: retries, timeouts, error mapping, header
parsing. The server is stdlib only, binds 127.0.0.1, and can inject faults one request at a time.

In a test::

    with FakeOpenAIServer(require_api_key="sk-test") as srv:
        srv.enqueue_faults(Fault.rate_limit(retry_after=1.0))
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)

For a benchmark, as its own process (prints the base URL on its first stdout line)::

    python -m testkit.fake_openai --port 0 --delay-ms 200   # from the repository root

Streaming (``"stream": true``) is answered with a complete Server-Sent Events body: a role chunk,
the content split into a few chunks, a finish chunk, an optional usage chunk
(``stream_options.include_usage``) and ``data: [DONE]``. Faults apply to streamed requests too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import importlib
import json
import math
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, TypedDict

from testkit.requests import body_request

__all__ = [
    "DEFAULT_SENTENCE",
    "FakeOpenAIServer",
    "Fault",
    "RecordedRequest",
    "Reply",
    "default_responder",
    "fake_embedding",
    "minimal_instance",
]

DEFAULT_SENTENCE = "This is a reply from the fake OpenAI-compatible server."
CHAT_PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
MODELS_PATH = "/v1/models"
_ENDPOINT_PATHS = {"chat": CHAT_PATH, "embeddings": EMBEDDINGS_PATH, "models": MODELS_PATH}


# --------------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What a responder returns when plain text is not enough (finish reason, usage counts)."""

    content: str
    finish_reason: Literal["stop", "length", "content_filter"] = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_content: str | None = None  # a separate reasoning field, as DeepSeek and vLLM reasoning parsers send


Responder = Callable[[dict[str, Any]], str | Reply]


class RecordedRequest(TypedDict):
    """One request as the server saw it; the Authorization header is never kept."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    time: float


FaultKind = Literal["rate_limit", "server_error", "timeout", "malformed_json", "drop", "status"]


@dataclass(frozen=True)
class Fault:
    """A one-shot misbehaviour applied to the next request of an endpoint, in queue order."""

    kind: FaultKind
    status_code: int = 0
    message: str | None = None
    retry_after: float | None = None
    seconds: float = 0.0
    then: Literal["reply", "drop"] = "reply"

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0, message: str | None = None) -> Fault:
        """429 with a ``Retry-After`` header (omitted when None) and an OpenAI error body."""
        return cls("rate_limit", status_code=429, message=message, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500, message: str | None = None) -> Fault:
        """A 5xx with an OpenAI error body (500, 502, 503...)."""
        return cls("server_error", status_code=status, message=message)

    @classmethod
    def timeout(cls, seconds: float, then: Literal["reply", "drop"] = "reply") -> Fault:
        """Stall ``seconds`` (longer than the client's timeout), then reply normally or drop."""
        return cls("timeout", seconds=seconds, then=then)

    @classmethod
    def malformed_json(cls) -> Fault:
        """200 with ``Content-Type: application/json`` and a body that does not parse."""
        return cls("malformed_json", status_code=200)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop")

    @classmethod
    def status(cls, code: int, message: str | None = None) -> Fault:
        """Any HTTP error (400, 401, 403, 404, 422...) with an OpenAI error body."""
        return cls("status", status_code=code, message=message)


# --------------------------------------------------------------------------------------------
# Deterministic content
# --------------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Whitespace word count: deterministic and easy to predict in assertions."""
    return len(text.split())


def _message_text(message: Any) -> str:
    """Text of one chat message, whether content is a string or a list of parts."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part)
    return ""


def prompt_tokens(body: dict[str, Any]) -> int:
    """Word count over all messages of a chat request."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(count_tokens(_message_text(m)) for m in messages)


def fake_embedding(text: str, dim: int = 64) -> list[float]:
    """A unit vector derived from SHA-256 of the text: same text, same vector, any process."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        for i in range(0, len(digest), 4):
            (n,) = struct.unpack("<I", digest[i : i + 4])
            values.append(n / 2**31 - 1.0)
        counter += 1
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def response_format_schema(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | bool | None]:
    """The ``response_format`` type and schema, for both the OpenAI and llama.cpp spellings."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None, None
    kind = fmt.get("type")
    schema: Any = None
    if kind == "json_schema":
        inner = fmt.get("json_schema")
        if isinstance(inner, dict):
            schema = inner.get("schema")
    elif kind == "json_object":
        schema = fmt.get("schema")
    if not isinstance(schema, dict | bool):
        schema = None
    return (kind if isinstance(kind, str) else None), schema


def default_responder(body: dict[str, Any]) -> str:
    """A minimal valid instance of the requested schema, ``{}`` for bare JSON mode, else a sentence."""
    kind, schema = response_format_schema(body)
    if schema is not None:
        return json.dumps(minimal_instance(schema))
    if kind in ("json_object", "json_schema"):
        return "{}"
    return DEFAULT_SENTENCE


# --------------------------------------------------------------------------------------------
# Minimal instance of a JSON schema
# --------------------------------------------------------------------------------------------

_FORMAT_EXAMPLES: dict[str, str] = {
    "date-time": "2026-11-23T09:00:00Z",
    "date": "2026-11-23",
    "time": "09:00:00",
    "duration": "P1D",
    "email": "x@example.com",
    "idn-email": "x@example.com",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/x",
    "url": "https://example.com/x",
    "iri": "https://example.com/x",
    "uri-reference": "https://example.com/x",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 32


def minimal_instance(schema: dict[str, Any] | bool) -> Any:
    """A small value that validates against ``schema``: only required properties, minimum sizes.

    Covers what pydantic's ``model_json_schema()`` and typical hand-written schemas use: ``$ref``
    into ``$defs``/``definitions``, ``allOf``/``anyOf``/``oneOf``, ``const``/``enum``, string
    lengths and formats, numeric bounds and ``multipleOf``, ``minItems``/``prefixItems``/
    ``uniqueItems``, ``minProperties``, and ``pattern`` for the usual regex constructs.
    """
    return _Generator(schema).generate(schema, 0, 0)


class _Generator:
    def __init__(self, root: dict[str, Any] | bool) -> None:
        self.root = root

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for raw in ref[1:].split("/"):
            if not raw:
                continue
            key = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def deref(self, schema: Any, depth: int) -> Any:
        while isinstance(schema, dict) and "$ref" in schema and depth < _MAX_DEPTH:
            target = self.resolve(schema["$ref"])
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if isinstance(target, dict) else target
            depth += 1
        return schema

    def merge_all_of(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = self.deref(part, depth)
            if not isinstance(part, dict):
                continue
            if "allOf" in part:
                part = self.merge_all_of(part, depth + 1)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
                else:
                    merged.setdefault(key, value)
        return merged

    def generate(self, schema: Any, depth: int, index: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError("schema nests too deeply (recursive required fields?)")
        schema = self.deref(schema, depth)
        if schema is True or schema == {}:
            return "x"
        if not isinstance(schema, dict):
            return None
        if "allOf" in schema:
            schema = self.merge_all_of(schema, depth)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][index % len(schema["enum"])]
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                rest = {k: v for k, v in schema.items() if k != key}
                return self.generate({**rest, **self.pick_option(options, depth)}, depth + 1, index)
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            kind = non_null[0] if non_null else "null"
        if kind is None:
            kind = self.infer_type(schema)
        if kind == "object":
            return self.make_object(schema, depth, index)
        if kind == "array":
            return self.make_array(schema, depth)
        if kind == "string":
            return self.make_string(schema, index)
        if kind == "integer":
            return int(self.make_number(schema, index, integer=True))
        if kind == "number":
            return self.make_number(schema, index, integer=False)
        if kind == "boolean":
            return index % 2 == 1
        if kind == "null":
            return None
        return "x"

    def pick_option(self, options: list[Any], depth: int) -> dict[str, Any]:
        """Prefer the first non-null branch: it exercises more of the caller's parsing."""
        for option in options:
            resolved = self.deref(option, depth)
            if isinstance(resolved, dict) and resolved.get("type") != "null":
                return resolved
        first = self.deref(options[0], depth)
        return first if isinstance(first, dict) else {}

    @staticmethod
    def infer_type(schema: dict[str, Any]) -> str | None:
        if any(k in schema for k in ("properties", "required", "additionalProperties", "minProperties")):
            return "object"
        if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
            return "array"
        if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
            return "string"
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
            return "number"
        return None

    def make_object(self, schema: dict[str, Any], depth: int, index: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = [name for name in schema.get("required", []) if isinstance(name, str)]
        out: dict[str, Any] = {}
        for name in required:
            out[name] = self.generate(properties.get(name, True), depth + 1, index)
        min_props = int(schema.get("minProperties", 0))
        for name, sub in properties.items():
            if len(out) >= min_props:
                break
            if name not in out:
                out[name] = self.generate(sub, depth + 1, index)
        extra = schema.get("additionalProperties", True)
        n = 0
        while len(out) < min_props and extra is not False:
            out[f"x{n}"] = self.generate(extra, depth + 1, n)
            n += 1
        return out

    def make_array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", True)
        if isinstance(items, list):  # draft-04..07 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        min_items = int(schema.get("minItems", 0))
        count = max(min_items, len(prefix))
        max_items = schema.get("maxItems")
        if isinstance(max_items, int):
            count = min(count, max(max_items, min_items))
        return [self.generate(prefix[i] if i < len(prefix) else items, depth + 1, i) for i in range(count)]

    @staticmethod
    def make_string(schema: dict[str, Any], index: int) -> str:
        min_len = int(schema.get("minLength", 0))
        max_len = schema.get("maxLength")
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        candidates: list[str] = []
        if isinstance(fmt, str) and fmt in _FORMAT_EXAMPLES:
            candidates.append(_FORMAT_EXAMPLES[fmt])
        candidates.append("x" if index == 0 else f"x{index}")
        if isinstance(pattern, str):
            candidates += [c for c in (regex_example(pattern), regex_example(pattern, min_len)) if c]
        candidates += ["a", "A", "0", "x1", "a-1", "abc", "ABC", "123"]
        for candidate in candidates:
            fillers = ["x", candidate[-1]] if candidate else ["x"]
            for filler in fillers:
                value = candidate + filler * max(0, min_len - len(candidate))
                if isinstance(max_len, int) and len(value) > max_len:
                    value = value[: max(max_len, min_len)]
                if not isinstance(pattern, str) or re.search(pattern, value):
                    return value
        return candidates[0]

    @staticmethod
    def make_number(schema: dict[str, Any], index: int, *, integer: bool) -> float:
        lo, hi = schema.get("minimum"), schema.get("maximum")
        ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(ex_lo, bool):  # draft-04: a flag that makes "minimum" exclusive
            ex_lo, lo = (lo, None) if ex_lo else (None, lo)
        if isinstance(ex_hi, bool):
            ex_hi, hi = (hi, None) if ex_hi else (None, hi)
        multiple = schema.get("multipleOf")
        if not isinstance(multiple, int | float) or isinstance(multiple, bool) or multiple <= 0:
            multiple = None
        if integer:
            lows = [math.ceil(lo)] if lo is not None else []
            lows += [math.floor(ex_lo) + 1] if ex_lo is not None else []
            highs = [math.floor(hi)] if hi is not None else []
            highs += [math.ceil(ex_hi) - 1] if ex_hi is not None else []
            low, high = (max(lows) if lows else None), (min(highs) if highs else None)
            value = low + index if low is not None else index
            if high is not None and value > high:
                value = max(high, low) if low is not None else high
            if multiple is not None:
                value = math.ceil(value / multiple) * multiple
                if high is not None and value > high:
                    value = math.floor(high / multiple) * multiple
            return int(value)
        low_f: float | None = lo
        low_open = False
        if ex_lo is not None and (lo is None or ex_lo >= lo):
            low_f, low_open = ex_lo, True
        high_f: float | None = hi
        high_open = False
        if ex_hi is not None and (hi is None or ex_hi <= hi):
            high_f, high_open = ex_hi, True
        if low_f is not None and high_f is not None:
            if index == 0 and not low_open:
                number = float(low_f)
            else:  # strictly inside the range, distinct per index
                number = low_f + (high_f - low_f) * (index + 1) / (index + 2)
        elif low_f is not None:
            number = low_f + index + (1.0 if low_open else 0.0)
        elif high_f is not None:
            number = high_f - index - (1.0 if high_open else 0.0)
        else:
            number = float(index)
        if multiple is not None:
            number = math.ceil(number / multiple) * multiple
        return number


def regex_example(pattern: str, grow: int = 0) -> str | None:
    """A string that the regex ``pattern`` probably matches, or None when it is beyond this walk.

    Walks the stdlib's parse tree: literals as written, the first member of a class, repeats at
    their minimum count (or up to ``grow`` when a longer string is needed), the first branch.
    The caller checks the result with ``re.search``, so a wrong guess only costs a fallback.
    """
    try:
        parsed = importlib.import_module("re._parser").parse(pattern)
        return _walk_regex(parsed, grow)
    except Exception:
        return None


_CATEGORY_EXAMPLES = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "x",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "x",
    "CATEGORY_WORD": "x",
    "CATEGORY_NOT_WORD": "-",
}


def _op_name(op: Any) -> str:
    return str(getattr(op, "name", op))


def _walk_regex(parsed: Any, grow: int) -> str:
    out: list[str] = []
    for op, av in parsed:
        name = _op_name(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("y" if chr(av) == "x" else "x")
        elif name == "ANY":
            out.append("x")
        elif name == "IN":
            out.append(_class_example(av))
        elif name == "CATEGORY":
            out.append(_CATEGORY_EXAMPLES[_op_name(av)])
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = av
            out.append(_walk_regex(sub, grow) * max(low, min(high, grow)))
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            out.append(_walk_regex(av[-1], grow))
        elif name == "BRANCH":
            out.append(_walk_regex(av[1][0], grow))
        elif name not in ("AT", "ASSERT", "ASSERT_NOT"):
            raise ValueError(f"unsupported regex node {name}")
    return "".join(out)


def _class_example(items: list[tuple[Any, Any]]) -> str:
    """First character a ``[...]`` class accepts; for ``[^...]`` the first common one it does not ban."""
    if items and _op_name(items[0][0]) == "NEGATE":
        banned = "".join(re.escape(_class_example([item])) for item in items[1:])
        for ch in "xaZ0_-. ":
            if not banned or not re.fullmatch(f"[{banned}]", ch):
                return ch
        raise ValueError("no candidate outside the negated class")
    op, av = items[0]
    name = _op_name(op)
    if name == "LITERAL":
        return chr(av)
    if name == "RANGE":
        return chr(av[0])
    if name == "CATEGORY":
        return _CATEGORY_EXAMPLES[_op_name(av)]
    raise ValueError(f"unsupported class item {name}")


# --------------------------------------------------------------------------------------------
# Error bodies
# --------------------------------------------------------------------------------------------


def openai_error(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """The body OpenAI's API sends with every error status."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _error_for_status(status: int, message: str | None, model: str) -> dict[str, Any]:
    """An OpenAI-style error body whose type and code match the status, as the real API sends."""
    if status == 400:
        return openai_error(message or "Invalid request.", "invalid_request_error")
    if status == 401:
        return openai_error(
            message or "Incorrect API key provided. You can find your API key in your account settings.",
            "invalid_request_error",
            "invalid_api_key",
        )
    if status == 403:
        return openai_error(message or "You are not allowed to access this resource.", "permission_error", "forbidden")
    if status == 404:
        return openai_error(
            message or f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )
    if status == 429:
        return openai_error(
            message or f"Rate limit reached for {model}. Please try again later.",
            "requests",
            "rate_limit_exceeded",
        )
    if status >= 500:
        return openai_error(
            message or "The server had an error while processing your request. Sorry about that!",
            "server_error",
        )
    return openai_error(message or f"HTTP {status}", "invalid_request_error")


def llama_cpp_json_schema_error() -> dict[str, Any]:
    """The 500 body llama-cpp-python's server sends when ``response_format.type`` is ``json_schema``.

    Its routes (``RouteErrorHandler``) turn every exception but ``HTTPException``, FastAPI's
    ``RequestValidationError`` included, into a 500 whose message is ``str(exc)``: the request
    model types ``response_format.type`` as ``Literal["text", "json_object"]``. Current FastAPI
    renders that as below; older releases rendered only the bare list of error dicts.
    """
    error = {
        "type": "literal_error",
        "loc": ("body", "response_format", "type"),
        "msg": "Input should be 'text' or 'json_object'",
        "input": "json_schema",
        "ctx": {"expected": "'text' or 'json_object'"},
    }
    message = f"1 validation error:\n  {error}\n  Endpoint: POST {CHAT_PATH}"
    return openai_error(message, "internal_server_error")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class _Dropped(Exception):
    """Raised inside a handler to close the connection without a response."""


class _Server(ThreadingHTTPServer):
    """Threaded server that can cut its open keep-alive connections, so close() never hangs."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # benchmarks open many connections at once; the default backlog is 5

    def __init__(self, address: tuple[str, int], owner: FakeOpenAIServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Skip HTTPServer's reverse DNS lookup of the host, which can stall offline."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-reply are expected here; only report real bugs."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | _Dropped):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for the client's
    # delayed ACK (up to 40 ms) on a kept-alive connection. Real servers (uvicorn, vLLM) set TCP_NODELAY.
    disable_nagle_algorithm = True
    server: _Server
    error_content_type = "application/json"
    error_message_format = '{"error": {"message": "%(message)s", "type": "invalid_request_error"}}'

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self.server.owner._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.owner._handle(self, "POST")


class FakeOpenAIServer:
    """An OpenAI-compatible endpoint on 127.0.0.1 with scripted faults, for tests and benchmarks.

    ``responder`` receives the parsed chat request body and returns the reply text (or a
    ``Reply``). ``llama_cpp_mode`` answers ``response_format.type == "json_schema"`` the way
    llama-cpp-python's server does (HTTP 500). ``require_api_key`` rejects any other bearer token
    with 401 (checked before faults, so a rejected request does not consume one). ``delay_ms``
    sleeps before every normal reply (faults and rejections answer at once); each connection has
    its own thread, so concurrent requests overlap.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_ms: float = 0.0,
        llama_cpp_mode: bool = False,
        require_api_key: str | None = None,
        models: Sequence[str] = ("fake-model",),
        embedding_dim: int = 64,
        verbose: bool = False,
        record: bool = True,
    ) -> None:
        self.responder: Responder = responder or default_responder
        self.record = record  # keep every request (False: a long benchmark's tens of thousands of prompts)
        self.host = host
        self.port = port
        self.delay_ms = delay_ms
        self.llama_cpp_mode = llama_cpp_mode
        self.require_api_key = require_api_key
        self.models = list(models)
        self.embedding_dim = embedding_dim
        self.verbose = verbose
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: dict[str, deque[Fault]] = {path: deque() for path in _ENDPOINT_PATHS.values()}
        self._closing = threading.Event()
        self._local = threading.local()  # the request this handler thread is answering
        self._in_flight: dict[str | None, int] = {}
        self._peak: dict[str | None, int] = {}
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind and serve in a daemon thread; ``port=0`` picks a free port."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._closing.clear()
        self._httpd = _Server((self.host, self.port), self)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-openai-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, wake stalled handlers, cut keep-alive connections, join every thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._closing.set()
        httpd.shutdown()
        httpd.cut_connections()
        httpd.server_close()  # joins the handler threads
        if thread is not None:
            thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, ending in ``/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    # -- scripting and inspection -------------------------------------------------------------

    def enqueue_faults(self, *faults: Fault, endpoint: Literal["chat", "embeddings", "models"] = "chat") -> None:
        """Queue faults; each one is used up by the next request to ``endpoint``, in order."""
        with self._lock:
            self._faults[_ENDPOINT_PATHS[endpoint]].extend(faults)

    def pending_faults(self, endpoint: Literal["chat", "embeddings", "models"] = "chat") -> int:
        """How many queued faults the endpoint has not used yet."""
        with self._lock:
            return len(self._faults[_ENDPOINT_PATHS[endpoint]])

    def clear(self) -> None:
        """Forget recorded requests and queued faults."""
        with self._lock:
            self._requests.clear()
            for queue in self._faults.values():
                queue.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Recorded requests to ``/v1/chat/completions``."""
        return [r for r in self.requests if r["path"] == CHAT_PATH]

    def peak_in_flight(self, schema: str | None = None) -> int:
        """The most chat requests being answered at once (delay included), of one schema when named:
        how a test sees that calls ran concurrently without timing them."""
        with self._lock:
            if schema is None:
                return self._peak.get("", 0)
            return self._peak.get(schema, 0)

    @contextlib.contextmanager
    def _answering(self, body: Any) -> Iterator[None]:
        """Count a chat request as in flight, overall ("") and under its schema's name, while answered."""
        keys = ["", body_request(body).schema if isinstance(body, dict) else None]
        with self._lock:
            for key in keys:
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
                self._peak[key] = max(self._peak.get(key, 0), self._in_flight[key])
        try:
            yield
        finally:
            with self._lock:
                for key in keys:
                    self._in_flight[key] -= 1

    # -- request handling ---------------------------------------------------------------------

    def _handle(self, handler: _Handler, method: str) -> None:
        try:
            self._dispatch(handler, method)
        except _Dropped:
            handler.close_connection = True

    def client_address(self) -> tuple[str, int] | None:
        """The peer (host, port) of the request the calling thread answers: for a responder that needs
        to know who asked (a cluster test finds the worker process behind it)."""
        return getattr(self._local, "client", None)

    def _dispatch(self, handler: _Handler, method: str) -> None:
        self._local.client = tuple(handler.client_address[:2])
        path = handler.path.split("?", 1)[0].rstrip("/")
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        headers = {k.lower(): v for k, v in handler.headers.items() if k.lower() != "authorization"}
        if self.record:
            with self._lock:
                self._requests.append(
                    RecordedRequest(method=method, path=path, headers=headers, json=body, time=time.time())
                )

        if self.require_api_key is not None:
            auth = handler.headers.get("Authorization", "")
            if auth != f"Bearer {self.require_api_key}":
                # llama-cpp-python raises FastAPI's HTTPException, which has its own body shape.
                payload: dict[str, Any] = (
                    {"detail": "Invalid API key"} if self.llama_cpp_mode else _error_for_status(401, None, "")
                )
                self._send_json(handler, 401, payload)
                return

        routes = {(CHAT_PATH, "POST"), (EMBEDDINGS_PATH, "POST"), (MODELS_PATH, "GET")}
        if (path, method) not in routes:
            self._send_json(
                handler, 404, openai_error(f"Unknown request URL: {method} {path}", "invalid_request_error")
            )
            return
        if bad_json or (method == "POST" and not isinstance(body, dict)):
            self._send_json(
                handler,
                400,
                openai_error("We could not parse the JSON body of your request.", "invalid_request_error"),
            )
            return

        request_body: dict[str, Any] = body if isinstance(body, dict) else {}
        model = str(request_body.get("model") or (self.models[0] if self.models else ""))
        with self._lock:
            queue = self._faults[path]
            fault = queue.popleft() if queue else None
        if fault is not None and self._apply_fault(handler, fault, model):
            return

        if path == CHAT_PATH:
            with self._answering(request_body):
                self._sleep(self.delay_ms / 1000.0)
                self._chat(handler, request_body, model)
            return
        self._sleep(self.delay_ms / 1000.0)
        if path == EMBEDDINGS_PATH:
            self._embeddings(handler, request_body, model)
        else:
            self._list_models(handler)

    def _sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server closes, so close() never waits on a stall."""
        if seconds > 0 and self._closing.wait(seconds):
            raise _Dropped

    def _apply_fault(self, handler: _Handler, fault: Fault, model: str) -> bool:
        """Act out ``fault``; True when the request is answered (or dropped) and done."""
        if fault.kind == "drop":
            raise _Dropped
        if fault.kind == "timeout":
            self._sleep(fault.seconds)
            if fault.then == "drop":
                raise _Dropped
            return False
        if fault.kind == "malformed_json":
            self._send_raw(handler, 200, b'{"id": "chatcmpl-broken", "choices": [{"mess', "application/json")
            return True
        extra: dict[str, str] = {}
        if fault.kind == "rate_limit" and fault.retry_after is not None:
            ra = fault.retry_after
            extra["Retry-After"] = str(int(ra)) if float(ra).is_integer() else f"{ra:g}"
        status = fault.status_code or 500
        self._send_json(handler, status, _error_for_status(status, fault.message, model), extra)
        return True

    def _chat(self, handler: _Handler, body: dict[str, Any], model: str) -> None:
        fmt = body.get("response_format")
        if self.llama_cpp_mode and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            self._send_json(handler, 500, llama_cpp_json_schema_error())
            return
        try:
            result = self.responder(body)
        except Exception as exc:
            self._send_json(handler, 500, openai_error(f"responder failed: {exc!r}", "server_error"))
            return
        reply = result if isinstance(result, Reply) else Reply(content=str(result))
        n_prompt = reply.prompt_tokens if reply.prompt_tokens is not None else prompt_tokens(body)
        n_completion = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else count_tokens(reply.content) + count_tokens(reply.reasoning_content or "")
        )
        usage = {
            "prompt_tokens": n_prompt,
            "completion_tokens": n_completion,
            "total_tokens": n_prompt + n_completion,
        }
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if body.get("stream"):
            self._stream_chat(handler, body, reply, usage, completion_id, created, model)
            return
        self._send_json(
            handler,
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": reply.content,
                            **({"reasoning_content": reply.reasoning_content} if reply.reasoning_content else {}),
                        },
                        "logprobs": None,
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": usage,
                "system_fingerprint": "fp_fake",
            },
        )

    def _stream_chat(
        self,
        handler: _Handler,
        body: dict[str, Any],
        reply: Reply,
        usage: dict[str, int],
        completion_id: str,
        created: int,
        model: str,
    ) -> None:
        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }

        pieces = re.findall(r"\S+\s*|\s+", reply.content) or [""]
        events: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""}, None)]
        events += [chunk({"content": piece}, None) for piece in pieces]
        events.append(chunk({}, reply.finish_reason))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            events.append({**chunk({}, None), "choices": [], "usage": usage})
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._send_raw(handler, 200, payload.encode(), "text/event-stream")

    def _embeddings(self, handler: _Handler, body: dict[str, Any], model: str) -> None:
        raw_input = body.get("input")
        inputs: list[Any] = raw_input if isinstance(raw_input, list) else [raw_input]
        if inputs and all(isinstance(t, int) for t in inputs):  # one pre-tokenised input
            inputs = [inputs]
        texts = [t if isinstance(t, str) else json.dumps(t) for t in inputs]
        dim = int(body.get("dimensions") or self.embedding_dim)
        data = []
        for i, text in enumerate(texts):
            vector = fake_embedding(text, dim)
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode("ascii")
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        n = sum(count_tokens(t) for t in texts)
        self._send_json(
            handler,
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": n, "total_tokens": n},
            },
        )

    def _list_models(self, handler: _Handler) -> None:
        created = int(time.time())
        data: list[dict[str, Any]] = [
            {"id": m, "object": "model", "owned_by": "me", "permissions": []}
            if self.llama_cpp_mode
            else {"id": m, "object": "model", "created": created, "owned_by": "groundhog"}
            for m in self.models
        ]
        self._send_json(handler, 200, {"object": "list", "data": data})

    @staticmethod
    def _send_json(handler: _Handler, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        FakeOpenAIServer._send_raw(handler, status, data, "application/json", extra_headers)

    @staticmethod
    def _send_raw(
        handler: _Handler,
        status: int,
        data: bytes,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (extra_headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()


# --------------------------------------------------------------------------------------------
# Standalone process
# --------------------------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    """Serve until killed; the first stdout line is the base URL, for scripts to read."""
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server for tests and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="sleep before every reply")
    parser.add_argument("--llama-cpp-mode", action="store_true", help="reject json_schema with 500")
    parser.add_argument("--require-api-key", default=None)
    parser.add_argument("--model", action="append", dest="models", help="model ids for /v1/models")
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--no-record", action="store_true", help="keep no request in memory (long benchmarks)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    server = FakeOpenAIServer(
        host=args.host,
        port=args.port,
        delay_ms=args.delay_ms,
        llama_cpp_mode=args.llama_cpp_mode,
        require_api_key=args.require_api_key,
        models=args.models or ("fake-model",),
        embedding_dim=args.embedding_dim,
        verbose=args.verbose,
        record=not args.no_record,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    with server:
        print(server.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """Treat SIGTERM like Ctrl-C, so ``terminate()`` still closes the server and exits 0."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
