"""One live witness outside the web layer: its plan, intake, runner, ports and end.

``plan`` fills a flow in for one investor; ``intake.open_witness`` creates the session;
``runner.WitnessRunner`` feeds ``kiosk.session`` and runs its effects through the ports of
``ports``; ``finalise`` writes a session's end (also for ``kiosk.recovery``).
"""
