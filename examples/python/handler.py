"""The predict handler in Python: same model, preprocessing, event/result/error shapes and
InvalidInput messages as mlfaas's built-in C++ worker (src/runtime/model_handler.cc).

The model is read from $LAMBDA_TASK_ROOT/manifest.json (a package made by `mlfaas train`), and
its digest is verified exactly as mlfaas does (docs/package_format.md): sha256 over the manifest
without "digest" and "created_at", keys sorted, no whitespace, numbers in shortest form.
"""

import hashlib
import json
import math
import os


class InitError(Exception):
    pass


class InvalidInput(Exception):
    pass


def _number(x):
    """Formats a float like nlohmann::json::dump() (used by the canonical digest)."""
    r = repr(x)
    if "e" not in r and "inf" not in r and "nan" not in r and abs(x) >= 1e15:
        digits = r.split(".")[0].lstrip("-").rstrip("0") or "0"
        exp = len(r.split(".")[0].lstrip("-")) - 1
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        r = ("-" if x < 0 else "") + f"{mantissa}e+{exp:02d}"
    return r


def canonical(value):
    if isinstance(value, dict):
        return "{" + ",".join(canonical(k) + ":" + canonical(value[k])
                              for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, float):
        return _number(value)
    return json.dumps(value, ensure_ascii=False)  # str, int, bool, None


def digest(manifest):
    content = {k: v for k, v in manifest.items() if k not in ("digest", "created_at")}
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def _reject_constant(name):
    raise ValueError(f"invalid literal {name}")


def _loads(text):
    """json.loads without the NaN/Infinity extensions and without float overflow, like nlohmann."""
    def parse_float(s):
        v = float(s)
        if not math.isfinite(v):
            raise ValueError(f"number overflow parsing '{s}'")
        return v
    return json.loads(text, parse_constant=_reject_constant, parse_float=parse_float)


class Model:
    def __init__(self, manifest, version):
        try:
            self.name = manifest["name"]
            self.features = [f["name"] for f in manifest["features"]]
            transform, standardize = manifest["preprocessing"]
            self.log = transform["function"] == "log0.1"
            mean, scale = standardize["mean"], standardize["scale"]
            coef, intercept = manifest["coefficients"], manifest["intercept"]
            self.threshold = manifest["threshold"]
        except (KeyError, TypeError, ValueError) as e:
            raise InitError(f"manifest.json is not a valid model: {e!r}") from e
        if manifest.get("digest") != digest(manifest):
            raise InitError("manifest.json digest does not match its content")
        # Same folding as the C++ Predictor: w_j = coef_j / scale_j, b = intercept - sum(w_j*mean_j).
        self.w = [c / s for c, s in zip(coef, scale)]
        self.b = intercept
        for c, m, s in zip(coef, mean, scale):
            self.b -= c * m / s
        self.suffix = '],"model":' + json.dumps(
            {"name": self.name, "version": version, "digest": manifest["digest"]},
            separators=(",", ":")) + "}"

    def parse_row(self, obj):
        for key in obj:
            if key not in self.features:
                raise InvalidInput(f"field '{key}' is not a model feature")
        row = []
        for f in self.features:
            if f not in obj:
                raise InvalidInput(f"field '{f}' is missing")
            v = obj[f]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise InvalidInput(f"field '{f}' must be a number")
            try:
                v = float(v)
            except OverflowError:
                v = math.inf
            if not math.isfinite(v):
                raise InvalidInput(f"field '{f}' must be finite")
            if self.log and v < 0:
                raise InvalidInput(f"field '{f}' must be >= 0 (log transform)")
            row.append(v)
        return row

    def proba(self, row):
        z = self.b
        for w, x in zip(self.w, row):
            z += w * (math.log(x + 0.1) if self.log else x)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def handle(self, payload):
        """payload: bytes. Returns the result JSON text; raises InvalidInput."""
        try:
            event = _loads(payload)
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidInput(f"event is not valid JSON: {e}") from None
        if not isinstance(event, dict):
            raise InvalidInput("event must be a JSON object")
        if "instances" not in event:
            rows = [self.parse_row(event)]
        else:
            for key in event:
                if key != "instances":
                    raise InvalidInput(f"field '{key}' is not allowed next to 'instances'")
            instances = event["instances"]
            if not isinstance(instances, list) or not instances:
                raise InvalidInput("field 'instances' must be a non-empty array")
            rows = []
            for i, obj in enumerate(instances):
                if not isinstance(obj, dict):
                    raise InvalidInput(f"instances[{i}]: must be a JSON object")
                try:
                    rows.append(self.parse_row(obj))
                except InvalidInput as e:
                    raise InvalidInput(f"instances[{i}]: {e}") from None
        parts = []
        for row in rows:
            p = self.proba(row)
            parts.append('{"anomaly":%s,"probability":%r}' % (
                "true" if p >= self.threshold else "false", p))
        return '{"predictions":[' + ",".join(parts) + self.suffix


def load(task_root=None, version=None):
    task_root = task_root or os.environ.get("LAMBDA_TASK_ROOT", ".")
    version = version or os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    path = os.path.join(task_root, "manifest.json")
    try:
        with open(path, "rb") as f:
            manifest = json.loads(f.read())
    except (OSError, ValueError) as e:
        raise InitError(f"{path}: {e}") from e
    if not isinstance(manifest, dict):
        raise InitError(f"{path}: manifest must be a JSON object")
    return Model(manifest, version)
