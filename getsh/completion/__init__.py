"""What completion offers, UI-free: suggestions for command arguments and setting values (arguments),
query keys from the data dictionary with sequence paths and enumerated values (keys), and file
names (paths). shell/completion.py turns them into prompt_toolkit completions.

Nothing is imported here: settings.py needs ``paths`` at start-up, before the registry exists.
"""
