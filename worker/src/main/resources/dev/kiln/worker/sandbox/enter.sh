#!/bin/sh
# Kiln's build sandbox runs this first, as the sandbox user, inside bubblewrap: it starts the
# package-index relay when the step may use the index, then becomes the step's command.
if [ -n "${KILN_SANDBOX_RELAY_PORT:-}" ]; then
  if ! python3 /opt/kiln/run/relay.py "$KILN_SANDBOX_RELAY_PORT" /opt/kiln/run/index.sock; then
    echo "kiln: the package index relay did not start (is python3 on PATH in the runtime image?)" >&2
    exit 97
  fi
fi
unset KILN_SANDBOX_RELAY_PORT
exec "$@"
