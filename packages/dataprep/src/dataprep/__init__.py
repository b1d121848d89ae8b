"""siamtrack dataprep."""
