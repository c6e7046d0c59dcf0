"""Speech engines behind one small interface (base.Engine)."""
