"""Reusable widgets of the app: generated config forms, zoomable images, the message banner."""
