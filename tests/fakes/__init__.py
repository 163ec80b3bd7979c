"""Local HTTP fakes of cloud APIs, spoken to by the real client libraries (see each module)."""
