"""The access log (UU PDP art. 31): entries written by each request, chained and verified by the sealer."""
