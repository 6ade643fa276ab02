"""Notifications (issue #19): who is told about a red warning or a deadline, decided purely.

``config`` (receivers, route tree), ``routing`` (which receivers), ``decide`` (intents from
warning records and 催办/督办 steps), ``plan`` (grouping and timing), ``render`` (each receiver's
message shape), ``signing`` (webhook and DingTalk signatures). Sending lives in sinks/notify/.
"""
