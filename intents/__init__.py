"""Understanding: what a message is about (service code) and where it is (location, geocoding).

This package knows nothing of channels, storage or HTTP.
"""
