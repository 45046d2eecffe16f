"""Reading runs and probing codes: what notebook 07 compares."""
