"""The service layer: ingestion and (later) jobs; no HTTP, no queue imports here."""
