"""Formulas: one short function per derived equation, its statement in the docstring. Imports only torch."""
