"""The micro-practices: pure rules that turn an action into intents, plus the vocabulary they speak."""
