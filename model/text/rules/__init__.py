"""Rule data for text analysis (section headers, context cues), shipped as package data."""
