"""Law families: one module each, every law with its constants, citation and conventions."""
