"""The worker's logic: the per-account collection policy (``policy``) and the
batch transport that runs it over an SQS batch (``batch``)."""
