"""Registered API clients: the client-credentials grant of the built-in OAuth 2.0 token endpoint."""
