"""Anomaly detection: the detector, its scoring core, thresholds, events, the monitor and file jobs."""
from tsae.pipelines.anomaly.detector import Detector
from tsae.pipelines.anomaly.devices import DeviceMonitors
from tsae.pipelines.anomaly.events import Event, EventTracker, find_events
from tsae.pipelines.anomaly.files import fit_detector_file, score_file
from tsae.pipelines.anomaly.monitor import Monitor, run_monitor
from tsae.pipelines.anomaly.thresholds import Threshold, fit_threshold

__all__ = ["Detector", "DeviceMonitors", "Event", "EventTracker", "Monitor", "Threshold", "find_events",
           "fit_detector_file", "fit_threshold", "run_monitor", "score_file"]
