"""The console's map (地图): trucks, their tracks, fence sets, detections and elevators as
GeoJSON layers on an offline base (``console/static/map``).

``window`` keeps the bounded in-memory picture the feed fills, ``layers`` turns it into
GeoJSON (pure), ``feed`` is the one effect: the Kafka consumer of trucks.gps and alerts.
"""
