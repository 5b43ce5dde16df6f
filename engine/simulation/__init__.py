"""Simulated history: an office of officers and applicants driving the real engine on a simulated clock.

``manage.py simulate_history`` runs it over the bundled library; ``profile`` reads the ``simulation.json``
files, ``run`` is the discrete-event loop, ``staff`` the simulated users.
"""
