#!/usr/bin/env bash
# Builds per minute with 1, 2 and 4 `kiln worker` processes on one broker; see
# cli/src/test/java/dev/kiln/cli/ThroughputBench.java and docs/benchmarks.md.
#   samples/bench/throughput.sh [APPS (16)] [WORKER-COUNTS… (1 2 4)]
# Needs what the tests need (git, the offline runtimes in /var/cache/kiln/runtimes, bubblewrap).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
cp="$(mktemp)"
# In the reactor (-am), Kiln's own modules resolve to their target/classes; cli is built last, so
# the file ends up with cli's test class path.
./mvnw -q -B -o test-compile dependency:build-classpath -pl cli -am \
  -Dmdep.includeScope=test -Dmdep.outputFile="$cp"
classpath="$here/cli/target/test-classes:$here/cli/target/classes:$(cat "$cp")"
rm -f "$cp"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec java -cp "$classpath" dev.kiln.cli.ThroughputBench "$@"
