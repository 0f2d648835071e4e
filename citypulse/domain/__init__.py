"""The shared vocabulary of CityPulse: stages and their names, thresholds and the
threshold reader, comfort labels, the area-state message, Korea's time zone and how a
phone number is shown. Every package imports these from here; this package imports
nothing of streams, alerts, sensors or dashboard_api.
"""
