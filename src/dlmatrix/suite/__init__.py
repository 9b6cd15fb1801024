"""dlm-suite, the C side seen from Python: the bundle it is built from, its command line, reading
what it prints into judged cells, and the loader's account of each cell."""
