"""Muck-truck geo intelligence: fence sets, spatial index, per-vehicle state, detections (pure)."""
