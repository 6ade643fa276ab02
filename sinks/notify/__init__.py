"""Sending notifications: the queue in the task store and one sender per receiver kind.

``queue`` claims due rows, records each attempt in the audit trail; ``base`` is the senders'
contract and registry; ``webhook``, ``robots`` (DingTalk/浙政钉, WeCom), ``smtp`` and ``sms``
speak to the receivers. What to send and when is decided in loop/notify/.
"""
