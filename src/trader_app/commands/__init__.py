"""One module per ``trader-app`` command."""
