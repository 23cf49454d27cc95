"""Pieces every layer shares and that depend on nothing else of the package: value checks."""
