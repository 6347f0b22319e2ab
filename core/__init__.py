"""The floor every other package stands on: the shared models, errors, settings, the
organisation directory and time helpers. It imports nothing of ours."""
