"""siamtrack tracker."""
