"""The interactive surface: the only package that knows prompt_toolkit and rich."""
