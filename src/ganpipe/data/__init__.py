"""Data sources and the raw uint8 .bin format that every stage after preparation reads."""
