"""The error hierarchy: the library raises these, the CLI and UI turn them into one line."""


class ChatbotError(Exception):
    """Base of every error meant for a user: its message is one clear line."""


class InputError(ChatbotError):
    """The user's input is unusable: an empty question, a missing or unreadable file."""


class ConfigError(ChatbotError):
    """The configuration names something that does not exist or cannot work."""


class StoreError(ChatbotError):
    """The vector store is unreadable or was built with another embedding model."""


class ModelError(ChatbotError):
    """The language model could not be located, assembled, loaded or reached."""
