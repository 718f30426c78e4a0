"""Developer tools that are not shipped: the Athena SQL's lint, local runs and template sync."""
