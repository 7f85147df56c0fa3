"""Reports for problem-solving groups: SLA performance by period, RAG-rated."""
