"""The read API: interactions, conversations and metrics, with an OpenAPI document."""
