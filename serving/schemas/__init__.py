"""API schemas, split by direction: `...Create` (request bodies) and `...Public` (responses)."""
