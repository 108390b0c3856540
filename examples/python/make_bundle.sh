#!/usr/bin/env bash
# Builds a custom-runtime bundle: bootstrap + runtime_client.py + handler.py + snapshot.py + the
# manifest.json of a model package made by `mlfaas train`. Uses python3's zipfile (unzip/zip may be missing).
# Usage: make_bundle.sh <model-package.zip> <out-bundle.zip>
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 <model-package.zip> <out-bundle.zip>" >&2
  exit 1
fi
HERE=$(cd "$(dirname "$0")" && pwd)
python3 - "$HERE" "$1" "$2" <<'PY'
import os, sys, zipfile
here, package, out = sys.argv[1:]
try:
    with zipfile.ZipFile(package) as z:
        manifest = z.read("manifest.json")
except (OSError, KeyError, zipfile.BadZipFile) as e:
    sys.exit(f"make_bundle.sh: {package}: not a model package with manifest.json ({e})")
tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
    for name, mode in (("bootstrap", 0o755), ("runtime_client.py", 0o644), ("handler.py", 0o644),
                       ("snapshot.py", 0o644)):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | mode) << 16  # regular file + permissions
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(here, name), "rb") as f:
            z.writestr(info, f.read())
    info = zipfile.ZipInfo("manifest.json", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, manifest)
os.replace(tmp, out)
print(out)
PY
