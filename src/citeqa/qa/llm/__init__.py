"""The optional language-model answer path: prompts, the chat client, validation, and a local GGUF server."""
