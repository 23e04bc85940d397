"""LGPD/GDPR: the consent log, the data-subject export and erasure."""
