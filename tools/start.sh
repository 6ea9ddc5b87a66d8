#!/bin/sh
# The start command's wrapper (`deno task start`): raises the soft limit on open descriptors to
# the hard one where the system allows it, passes both figures to the service in NOFILE_LIMIT
# (it logs them), then runs the command it was given. deno task's own shell has no `ulimit`.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE_LIMIT="$(ulimit -n)/$(ulimit -Hn)"
export NOFILE_LIMIT
exec "$@"
