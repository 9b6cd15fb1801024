"""The command line: one module per command, options typed at this boundary."""
