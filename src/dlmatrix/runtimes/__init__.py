"""Runtime kinds and runtime plug-ins: what a runtime under test is and how it is described."""
