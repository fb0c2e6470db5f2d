#!/bin/sh
# First start of the database only (docker-entrypoint-initdb.d): create the API's login role with
# its password from a secret file. The migrations then find the role and grant it what it needs;
# they never know the password. Neither superuser nor owner, so row-level security applies to it.
set -eu
password=$(cat /run/secrets/slrt_app_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$password" <<'SQL'
CREATE ROLE slrt_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
SQL
