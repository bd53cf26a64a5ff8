"""One router per resource, each a thin layer over the core."""
