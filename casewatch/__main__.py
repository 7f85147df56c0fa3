"""`python -m casewatch` runs the command line."""

from casewatch.service.cli.main import main

main()
