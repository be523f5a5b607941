"""Delivery: subscriptions, `opal deliver` (exactly once per recipient and due time), the inbox.

A delivery is a report run without a request (client ``deliver``): the engine decides access and
scope for the recipient at the moment it runs, never for whoever made the subscription.
"""
