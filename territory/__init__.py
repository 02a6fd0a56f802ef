"""Territory."""
