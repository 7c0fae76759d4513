"""One router per resource; each declares its scope once, as a router-level dependency."""
