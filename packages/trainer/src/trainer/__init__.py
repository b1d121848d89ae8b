"""siamtrack trainer."""
