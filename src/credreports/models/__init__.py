"""The domain's documents and values, one model each, shared by every function
and the CLI: ids and the clock (``ids``), reason codes and triggers
(``codes``), the work and dead-letter messages (``messages``), the failure
record (``failure_record``) and the run manifest (``manifest``)."""
