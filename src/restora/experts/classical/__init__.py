"""Classical restoration experts, one file per task family (library code where it exists)."""
