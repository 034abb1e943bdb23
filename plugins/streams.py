"""Built-in stream sources (stdin, MQTT) and sinks (stdout, MQTT) for ``tsae monitor``.

Registered through the ``tsae`` entry-point group (``streams = "tsae_plugins.streams"``),
exactly as a third-party package would add a Kafka source or a webhook sink.
"""
from __future__ import annotations

from typing import Any

from tsae.hookspecs import hookimpl


@hookimpl
def register_sources(register: Any) -> None:
    from tsae.io.mqtt import MqttSource
    from tsae.io.streams import StdinSource

    register("stdin", StdinSource)
    register("mqtt", MqttSource)


@hookimpl
def register_sinks(register: Any) -> None:
    from tsae.io.mqtt import MqttSink
    from tsae.io.streams import StdoutSink

    register("stdout", StdoutSink)
    register("mqtt", MqttSink)
