"""The business rules of dealer ordering; no web framework in here."""
