"""Channel adapters: each turns a provider's inbound events into one normalised message and sends replies.

Channels know nothing of Open311 or of intents; the dispatcher in ``bot/`` is where they meet.
"""
