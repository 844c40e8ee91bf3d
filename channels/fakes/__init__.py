"""Local fakes of the providers' HTTP APIs, for tests and demos.

Each fake is an ASGI app speaking the provider's real wire protocol, so the provider's own client library
is pointed at it (a base URL, or a session that rewrites the host) and nothing of ours is mocked. Each
records what the bot sent and can play the provider's side (inject updates, sign webhooks, fail on demand).
"""
