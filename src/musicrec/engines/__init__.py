"""Other engines for the build's heavy stages; the default engine is this process."""
