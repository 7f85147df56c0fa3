"""casewatch: case and SLA engine for Community Safety Partnerships."""

__version__ = "0.1.0"
