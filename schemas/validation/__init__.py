"""Pure validation and normalisation of source records (the data standard's gate)."""
