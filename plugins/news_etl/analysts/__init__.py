"""For analysts: reports, the data dictionary and the Parquet export, read from a warehouse file."""
