#!/usr/bin/env bash
# Mutation testing of the money path (issue 24): Stryker.NET over the ledger, its SQL and PostgreSQL stores, budget
# admission and settlement, the worst-case estimator and the usage meter. Not part of .ci/run: it takes far longer
# than CI's budget. Needs PostgreSQL (and Redis) as the tests find them: RELAYKIT_TEST_POSTGRES, RELAYKIT_TEST_REDIS.
#
#   bash stryker/run.sh                         # both projects, every money-path file
#   bash stryker/run.sh --mutate '**/Metering/UsageMeter.cs'   # one file (extra arguments go to Stryker)
#
# Reports: tests/RelayKit.AspNetCore.Tests/StrykerOutput/<run>/reports/ (html, json, markdown).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${RELAYKIT_TEST_POSTGRES:-}" ]]; then
  echo "RELAYKIT_TEST_POSTGRES is not set: the PostgreSQL ledger store would go untested (see .ci/run for how CI starts it)." >&2
  exit 2
fi

# A PostgreSQL test that cannot reach its server fails instead of skipping, so no mutant survives for want of a database.
export CI=true
cd "$root"
dotnet tool restore >/dev/null
cd tests/RelayKit.AspNetCore.Tests
projects=("${STRYKER_PROJECTS:-core postgres}")
for project in ${projects[*]}; do
  case "$project" in
    core) config=money-path.json ;;
    postgres) config=money-path-postgres.json ;;
    *) echo "unknown project $project (core, postgres)" >&2; exit 2 ;;
  esac
  dotnet dotnet-stryker --config-file "../../stryker/$config" --skip-version-check "$@"
done
