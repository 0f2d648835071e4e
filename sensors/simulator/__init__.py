"""The simulated city: calibrated crowds, zone counters, S-DoT sensors, scenarios and faults."""

from sensors.simulator.api import SimEvent, simulate, simulate_encoded
from sensors.simulator.records import DEFECT_KINDS, MalformedPayload
from sensors.simulator.scenarios import (
    SCENARIOS,
    Scenario,
    Surge,
    alley_crush,
    festival,
    normal_day,
    sensor_faults,
)

__all__ = [
    "DEFECT_KINDS",
    "SCENARIOS",
    "MalformedPayload",
    "Scenario",
    "SimEvent",
    "Surge",
    "alley_crush",
    "festival",
    "normal_day",
    "sensor_faults",
    "simulate",
    "simulate_encoded",
]
