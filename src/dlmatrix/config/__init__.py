"""Reading matrix/ and runtime plug-ins: every YAML file dlmatrix reads, its schema, the checks
across files, and the step language scenarios are written in."""
