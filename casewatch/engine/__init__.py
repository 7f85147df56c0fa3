"""The SLA engine: policies, rules, cycles and their time arithmetic."""
