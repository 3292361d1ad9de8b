"""The protocol layer: pydicom and pynetdicom only, never rich or prompt_toolkit."""
