"""The provisioning station: the one orchestrator. :mod:`.runner` runs a batch over ports,
:mod:`.assembly` builds one from a profile, a key and options, :mod:`.ledger` keeps registry
and provenance log in step."""
