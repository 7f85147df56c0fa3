"""`python -m casewatch` runs the command line."""

from casewatch.service.cli import main

main()
