"""The `casewatch` command line (contract section 2).

`main` builds the app from one module per topic; each topic imports only `shared` (the
global options, the runtime, exit codes, output) and the layers below, never another
topic or this package, so there is no import circle (import-linter contracts).
`app` and `main` are re-exported here, where console scripts installed before the
command line became a package still look for them.
"""

from casewatch.service.cli.main import app, main

__all__ = ["app", "main"]
