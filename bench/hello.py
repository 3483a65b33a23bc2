"""The baseline for the share-page benchmark: a bare Flask "hello world" under the same gunicorn."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Hello, world."""
    return "hello, world"
