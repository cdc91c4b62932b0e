"""Pydantic models for every boundary: API bodies, queue messages, stored records, settings."""
