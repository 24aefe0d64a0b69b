#!/usr/bin/env bash
# Refuse to start the compose deployment with a placeholder or a weak secret: airflow-init runs
# this before anything else (docker-compose.yml), with the secrets as the containers get them.
# Empty values never get here: compose's ${VAR:?} refuses them first (.env.example is empty).
set -u
status=0
check() {  # check NAME VALUE MIN_LENGTH
  local name=$1 value=$2 min=$3
  local lower=${value,,}
  if [[ -z $value ]]; then
    echo "refusing to start: $name is empty: set it in .env" >&2
    status=1
  elif [[ $lower == *change-me* || $lower == *changeme* || $lower == *placeholder* || $lower == *example* ]]; then
    echo "refusing to start: $name is a placeholder: set a secret of your own in .env" >&2
    status=1
  elif ((${#value} < min)); then
    echo "refusing to start: $name has ${#value} characters, fewer than $min: set a longer one in .env" >&2
    status=1
  fi
}
check POSTGRES_PASSWORD "${POSTGRES_PASSWORD:-}" 12
check REDIS_PASSWORD "${REDIS_PASSWORD:-}" 12
check AIRFLOW_JWT_SECRET "${AIRFLOW__API_AUTH__JWT_SECRET:-}" 32
check AIRFLOW_API_SECRET_KEY "${AIRFLOW__API__SECRET_KEY:-}" 32
check AIRFLOW_FERNET_KEY "${AIRFLOW__CORE__FERNET_KEY:-}" 44
check AIRFLOW_ADMIN_PASSWORD "${AIRFLOW_ADMIN_PASSWORD:-}" 12
check MINIO_ROOT_PASSWORD "${AWS_SECRET_ACCESS_KEY:-}" 12
exit $status
