"""The embedded Open311 GeoReport v2 core: a library first (service.py), served over HTTP by api.py."""
