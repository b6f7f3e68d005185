"""bedside: a bedside environment monitor that tests whether a cold room predicts night cramps."""

__version__ = "0.1.0"
