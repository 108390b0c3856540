"""A stdlib-only client for the AWS Lambda Runtime API (2018-06-01).

Works unchanged on AWS Lambda (provided.al2023) and on mlfaas: every URL is built from
$AWS_LAMBDA_RUNTIME_API as http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/...
One keep-alive HTTP/1.1 connection (http.client); any connection failure raises
RuntimeApiGone, after which the bootstrap exits (the platform replaces the instance).
"""

import http.client
import json
import os


class RuntimeApiGone(Exception):
    """The Runtime API is unreachable or closed the connection: the worker must exit."""


class Invocation:
    def __init__(self, request_id, deadline_ms, function_arn, trace_id, client_context,
                 cognito_identity, payload):
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.function_arn = function_arn
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.payload = payload  # bytes, the event as sent


class RuntimeClient:
    def __init__(self, endpoint=None):
        self.endpoint = endpoint or os.environ["AWS_LAMBDA_RUNTIME_API"]
        self.base = f"http://{self.endpoint}/2018-06-01/runtime"
        self._path = "/2018-06-01/runtime"
        self._conn = None

    def _request(self, method, path, body=None, headers=None):
        url = self._path + path  # origin form of self.base + path, as every HTTP client sends
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.endpoint)  # no timeout: long poll
            self._conn.request(method, url, body=body, headers=headers or {})
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            self._conn = None
            raise RuntimeApiGone(f"runtime API connection lost ({path}): {e}") from e
        if response.will_close:
            self._conn.close()
            self._conn = None
        return response, data

    def next(self):
        response, body = self._request("GET", "/invocation/next")
        if response.status != 200:
            raise RuntimeApiGone(f"runtime API answered {response.status} to /invocation/next")
        h = response.headers
        return Invocation(
            request_id=h.get("Lambda-Runtime-Aws-Request-Id", ""),
            deadline_ms=int(h.get("Lambda-Runtime-Deadline-Ms", "0") or 0),
            function_arn=h.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            trace_id=h.get("Lambda-Runtime-Trace-Id", ""),
            client_context=h.get("Lambda-Runtime-Client-Context", ""),
            cognito_identity=h.get("Lambda-Runtime-Cognito-Identity", ""),
            payload=body)

    def post_response(self, request_id, payload):
        """payload: str or bytes, already JSON."""
        if isinstance(payload, str):
            payload = payload.encode()
        self._post(f"/invocation/{request_id}/response", payload, {})

    def post_error(self, request_id, error_type, message):
        self._post(f"/invocation/{request_id}/error", error_body(error_type, message),
                   {"Lambda-Runtime-Function-Error-Type": error_type})

    def post_init_error(self, error_type, message):
        self._post("/init/error", error_body(error_type, message),
                   {"Lambda-Runtime-Function-Error-Type": error_type})

    def _post(self, path, body, headers):
        headers = dict(headers, **{"Content-Type": "application/json"})
        response, data = self._request("POST", path, body, headers)
        if not 200 <= response.status < 300:
            # Concerns this call only (e.g. 413 for an oversized response): report and go on.
            print(f"bootstrap: runtime API answered {response.status} to {path}: {data[:200]!r}",
                  flush=True)


def error_body(error_type, message):
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()
