"""Lambda entry points and the composition root: adapters are built here, once per warm process."""
