#!/usr/bin/env bash
# The main job: install what is missing, build, train on the shipped KDD99 http data, publish the
# model as function `kdd99-anomaly` (version + alias `live`), serve it on 127.0.0.1:$PORT and
# print how to call it. Re-running is safe: unchanged code publishes no new version.
# Env: MLFAAS_HOME (state, default ~/.mlfaas), PORT (default 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${PORT:-9000}
export MLFAAS_HOME=${MLFAAS_HOME:-$HOME/.mlfaas}
FN=kdd99-anomaly

bash scripts/deps.sh
bash scripts/build.sh mlfaas mlfaas-runtime
BIN=$ROOT/build/bin/mlfaas
mkdir -p "$MLFAAS_HOME"
PKG=$MLFAAS_HOME/$FN.zip

echo "== 1. train on data/kdd99-http.csv.gz (80/20 stratified split)"
"$BIN" train --data data/kdd99-http.csv.gz --out "$PKG" --name "$FN"

echo "== 2. publish function $FN"
if "$BIN" function get "$FN" >/dev/null 2>&1; then
  "$BIN" function update-code "$FN" --package "$PKG" >/dev/null
else
  "$BIN" function create "$FN" --package "$PKG" --memory 512 --timeout 3 >/dev/null
fi
VERSION=$("$BIN" function publish "$FN" --description "trained by scripts/demo.sh")
if "$BIN" alias get "$FN" live >/dev/null 2>&1; then
  "$BIN" alias update "$FN" live --version "$VERSION" >/dev/null
else
  "$BIN" alias create "$FN" live --version "$VERSION" >/dev/null
fi
echo "published $FN version $VERSION (alias live -> $VERSION)"

echo "== 3. serve on http://127.0.0.1:$PORT"
LOG=$MLFAAS_HOME/serve.log
"$BIN" serve --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
SERVE=$!
trap 'kill -TERM $SERVE 2>/dev/null; wait $SERVE 2>/dev/null' INT TERM
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/v2/health/live" >/dev/null 2>&1 && break
  kill -0 $SERVE 2>/dev/null || { cat "$LOG" >&2; echo "demo: mlfaas serve exited" >&2; exit 1; }
  sleep 0.1
done
URL=http://127.0.0.1:$PORT/2015-03-31/functions/$FN/invocations
# Once a key exists in this home, every call must carry one (docs/security.md): the demo makes
# itself one, scoped to this function, and shows the calls with it.
AUTH=()
AUTH_NOTE="off until a key exists (mlfaas key create --name NAME --scope 'invoke:*'); then every call is signed"
AWS_CREDS="AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x"
if [ "$("$BIN" key list --json | tr -d ' \n')" != "[]" ]; then
  "$BIN" key create --name "demo-$(date +%s)" --scope "invoke:$FN" --scope "read:*" --json >"$MLFAAS_HOME/demo-key.json"
  KID=$(sed -n 's/.*"AccessKeyId": "\(.*\)".*/\1/p' "$MLFAAS_HOME/demo-key.json")
  KSECRET=$(sed -n 's/.*"SecretAccessKey": "\(.*\)".*/\1/p' "$MLFAAS_HOME/demo-key.json")
  AUTH=(-H "Authorization: Bearer $KID:$KSECRET")
  AUTH_NOTE="on (keys exist in this home)"
  AWS_CREDS="AWS_ACCESS_KEY_ID=$KID AWS_SECRET_ACCESS_KEY=$KSECRET"
  echo "keys exist in $MLFAAS_HOME, so authentication is on: the calls below use a new key, $KID (mlfaas key list)"
fi
# Debian's awscli (v2) takes --cli-binary-format; an older `aws` earlier on PATH may not.
AWS=aws; [ -x /usr/bin/aws ] && AWS=/usr/bin/aws
echo "first call (cold start), then a warm one:"
for _ in 1 2; do
  curl -s -D - -o /tmp/mlfaas-demo-out.json "${AUTH[@]}" -X POST "$URL?Qualifier=live" \
    -d '{"duration":0,"src_bytes":215,"dst_bytes":45076}' | grep -i -E '^x-mlfaas' | tr -d '\r'
  cat /tmp/mlfaas-demo-out.json; echo
done
cat <<MSG

mlfaas is serving $FN (version $VERSION, alias live) on http://127.0.0.1:$PORT — log: $LOG
Call it:
  curl -s -X POST ${AUTH[*]:+-H '${AUTH[1]}' }'$URL?Qualifier=live' -d '{"duration":0,"src_bytes":215,"dst_bytes":45076}'
  $AWS_CREDS AWS_DEFAULT_REGION=us-east-1 \\
    $AWS lambda invoke --endpoint-url http://127.0.0.1:$PORT --function-name $FN --qualifier live \\
    --cli-binary-format raw-in-base64-out --payload '{"duration":0,"src_bytes":215,"dst_bytes":45076}' out.json
  curl -s -X POST ${AUTH[*]:+-H '${AUTH[1]}' }http://127.0.0.1:$PORT/v1/models/$FN:predict -d '{"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076}]}'
  $BIN status --endpoint http://127.0.0.1:$PORT
Dashboard: http://127.0.0.1:$PORT/ui/${KID:+ (sign in with $KID:$KSECRET)}
Authentication: $AUTH_NOTE: docs/security.md
Press Ctrl-C to stop.
MSG
wait $SERVE
