#!/bin/sh
# Write fresh random secrets for docker-compose into ./secrets (git-ignored). Keeps existing files.
set -eu
cd "$(dirname "$0")/.."
mkdir -p secrets
chmod 700 secrets
new() { [ -s "secrets/$1" ] || { umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "secrets/$1"; }; }
new postgres_password
new slrt_app_db_password
new slrt_credentials_key
new slrt_token_secret
new slrt_metrics_token
if [ ! -s secrets/slrt_database_url ]; then
    umask 077
    printf 'postgresql://slrt:%s@db:5432/slrt' "$(cat secrets/postgres_password)" > secrets/slrt_database_url
fi
echo "secrets written to ./secrets (never commit them)"
