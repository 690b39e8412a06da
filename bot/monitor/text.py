"""Small wording helpers shared by the monitor's notices (durations, titles)."""

from __future__ import annotations


def subject_title(subject: str, words: str) -> str:
    """'openai API: recovered', 'risk control errors: back to normal'."""
    if subject.startswith("surge:"):
        return f"{subject.split(':', 1)[1].replace('_', ' ')} errors: {words}"
    return f"{subject} API: {words}"


def duration(seconds: float) -> str:
    """'45 s', '12 min', '2 h', '2 h 5 min': how long, in the words a notice uses."""
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    minutes = seconds % 3600 // 60
    return f"{seconds // 3600} h" + (f" {minutes} min" if minutes else "")


__all__ = ["duration", "subject_title"]
