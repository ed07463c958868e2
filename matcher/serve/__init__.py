"""The HTTP edge and the web page (``matcher serve``): the only package that imports FastAPI."""
