"""Filing into an existing city's GeoReport v2 endpoint instead of the embedded core.

``client`` speaks the protocol (XML, as every GeoReport v2 server must); ``backoff`` says when to try
again; ``submissions`` persists each report until the city has it, so a remote failure never loses one;
``sync`` is the job step that submits, resolves tokens and polls statuses.
"""
