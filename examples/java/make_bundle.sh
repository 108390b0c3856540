#!/usr/bin/env bash
# Builds the Java custom-runtime bundle: bootstrap + mlfaas-runtime.jar (compiled here with
# javac --release 17) + snapshot_template.py + the manifest.json of a model package made by
# `mlfaas train`. Uses
# python3's zipfile for the jar and the bundle (no `jar`, `zip` or `unzip` needed).
# Usage: make_bundle.sh <model-package.zip> <out-bundle.zip>
# MLFAAS_JAVA_JAR_CACHE=<dir>: keep the jar there, named after a hash of the sources, and reuse
# it while they are unchanged (javac takes seconds; tests build many bundles).
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 <model-package.zip> <out-bundle.zip>" >&2
  exit 1
fi
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SOURCES=("$HERE"/src/mlfaas/runtime/*.java)
JAR=""
if [[ -n ${MLFAAS_JAVA_JAR_CACHE:-} ]]; then
  key=$(cat "${SOURCES[@]}" "$0" | sha256sum | cut -c1-16)
  JAR="$MLFAAS_JAVA_JAR_CACHE/mlfaas-runtime-$key.jar"
fi
if [[ -z $JAR || ! -f $JAR ]]; then
  if ! command -v javac >/dev/null; then
    echo "make_bundle.sh: javac not found: install a JDK 17 (Debian: default-jdk-headless;" \
      "scripts/deps.sh installs it)" >&2
    exit 1
  fi
  # javac itself starts faster with the flags the runtime uses (C1 only, serial GC).
  javac -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData \
    --release 17 -Xlint:all -encoding UTF-8 -d "$TMP/classes" "${SOURCES[@]}"
fi
python3 - "$HERE" "$TMP/classes" "$JAR" "$1" "$2" <<'PY'
import io, os, sys, zipfile
here, classes, cached_jar, package, out = sys.argv[1:]
try:
    with zipfile.ZipFile(package) as z:
        manifest = z.read("manifest.json")
except (OSError, KeyError, zipfile.BadZipFile) as e:
    sys.exit(f"make_bundle.sh: {package}: not a model package with manifest.json ({e})")

def entry(name, mode, compress=zipfile.ZIP_DEFLATED):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
    info.external_attr = (0o100000 | mode) << 16  # regular file + permissions
    info.compress_type = compress
    return info

# The jar: a zip of the classes (stored: nothing to inflate when the JVM loads them), with a
# manifest so that `java -jar` works too.
if cached_jar and os.path.isfile(cached_jar):
    with open(cached_jar, "rb") as f:
        jar_bytes = f.read()
else:
    jar = io.BytesIO()
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr(entry("META-INF/MANIFEST.MF", 0o644, zipfile.ZIP_STORED),
                   "Manifest-Version: 1.0\r\nMain-Class: mlfaas.runtime.Main\r\n"
                   "Created-By: mlfaas examples/java/make_bundle.sh\r\n\r\n")
        for root, dirs, files in os.walk(classes):
            dirs.sort()
            for f in sorted(files):
                path = os.path.join(root, f)
                with open(path, "rb") as src:
                    z.writestr(entry(os.path.relpath(path, classes), 0o644, zipfile.ZIP_STORED),
                               src.read())
    jar_bytes = jar.getvalue()
    if cached_jar:  # atomically: concurrent builds may share the cache
        os.makedirs(os.path.dirname(cached_jar), exist_ok=True)
        tmp = f"{cached_jar}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(jar_bytes)
        os.replace(tmp, cached_jar)

tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w") as z:
    with open(os.path.join(here, "bootstrap"), "rb") as f:
        z.writestr(entry("bootstrap", 0o755), f.read())
    z.writestr(entry("mlfaas-runtime.jar", 0o644), jar_bytes)
    with open(os.path.join(here, "snapshot_template.py"), "rb") as f:
        z.writestr(entry("snapshot_template.py", 0o644), f.read())
    z.writestr(entry("manifest.json", 0o644), manifest)
os.replace(tmp, out)
print(out)
PY
