#!/bin/sh
# Gives the compose secrets and private keys the owner and mode that let exactly the processes
# that need them read them. Compose bind-mounts secret files with their host owner and mode, so
# these must be right on the host (run as root: sudo scripts/prepare-secrets.sh).
#
#   secrets/es_password   1000:0       0400  Elasticsearch (uid 1000) and the one-off es-setup (runs as 1000)
#   secrets/es_api_key    10001:10001  0400  indexer and dashboard (the image's user, uid 10001)
#   secrets/wecom_secret  10001:10001  0400  indexer (only it mounts the secret)
#   keys/                 10001:10001  0500  indexer (`keys add` reads the private keys), files 0400
#
# --dry-run prints the commands instead of running them; --check only verifies (exit 1 if wrong).
set -eu

ES_UID=1000 ES_GID=0 APP_UID=10001 APP_GID=10001
SECRETS_DIR=${SECRETS_DIR:-./secrets}
PRIVATE_KEYS_DIR=${PRIVATE_KEYS_DIR:-./keys}
mode=apply
case "${1:-}" in
  --dry-run) mode=print ;;
  --check) mode=check ;;
  "") ;;
  *) echo "usage: $0 [--dry-run|--check]" >&2; exit 2 ;;
esac

status=0
want() {  # want PATH OWNER:GROUP MODE
  if [ "$mode" = print ]; then
    echo "chown $2 $1 && chmod $3 $1"
  elif [ "$mode" = check ]; then
    [ -e "$1" ] || { echo "missing: $1" >&2; status=1; return; }
    actual="$(stat -c '%u:%g %a' "$1")"
    [ "$actual" = "$2 ${3#0}" ] || { echo "$1 is $actual, want $2 ${3#0}" >&2; status=1; }
  else
    # es_api_key exists only after es-setup has run: run this script again then.
    [ -e "$1" ] || { echo "not there yet: $1 (run this again once it exists)" >&2; return; }
    chown "$2" "$1" && chmod "$3" "$1"
  fi
}

want "$SECRETS_DIR/es_password" "$ES_UID:$ES_GID" 0400
want "$SECRETS_DIR/es_api_key" "$APP_UID:$APP_GID" 0400
want "$SECRETS_DIR/wecom_secret" "$APP_UID:$APP_GID" 0400
want "$PRIVATE_KEYS_DIR" "$APP_UID:$APP_GID" 0500
if [ -d "$PRIVATE_KEYS_DIR" ] || [ "$mode" = print ]; then
  for key in "$PRIVATE_KEYS_DIR"/*.pem; do
    [ -e "$key" ] || [ "$mode" = print ] || continue
    want "$key" "$APP_UID:$APP_GID" 0400
  done
fi
exit $status
