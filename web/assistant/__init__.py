"""The chat assistant: intents in French and English over the mail service layer.

``language`` and ``parsing`` read the user's words (language, addresses, quoted text,
dates, message numbers, folders); ``intents`` classifies a request; ``actions`` carries
it out through ``web.mailservice`` and answers in the user's language (``phrases``);
``engine`` is the offline rule engine and ``llm`` the OpenAI-compatible one with the same
actions as tools; ``history`` keeps each user's conversation; ``streaming`` cuts an
answer into tokens.
"""
