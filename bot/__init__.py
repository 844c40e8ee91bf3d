"""open311-bot: a city's 311 intake bot with an embedded Open311 GeoReport v2 server."""

__version__ = "0.1.0"
