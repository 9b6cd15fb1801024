"""What a run leaves: results.json written and read against its schema, the run's metadata,
merging shards, what changed since the previous run, and the output directory."""
