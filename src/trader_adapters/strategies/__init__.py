"""Built-in strategies (signal sources) and the loader for user strategies."""
