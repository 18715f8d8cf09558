"""The ``secagg`` console script."""
