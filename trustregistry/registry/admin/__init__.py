"""The trusted-application admin (SPEC sections 2 and 9): a change form laid out like the
record's anatomy, names per language, secrets that are generated and shown once, warnings for
risky settings, and the record's history."""

from trustregistry.registry.admin.application import TrustedApplicationAdmin

__all__ = ["TrustedApplicationAdmin"]
