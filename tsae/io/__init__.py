"""Files in and out, one implementation of each job.

- :mod:`tsae.io.paths`: expand inputs (files, folders, globs, URLs), plan outputs, and the
  one check that an output never replaces a file the command reads;
- :mod:`tsae.io.series`: read and write a series of any kind (tables, ``.npy``, audio), atomic ``.npy``;
- :mod:`tsae.io.blocks`: read and write audio and ``.npy`` series in blocks;
- :mod:`tsae.io.tables`, :mod:`tsae.io.audio`: the CSV/TSV table and audio formats (read by
  :mod:`~tsae.io.text_files`, :mod:`~tsae.io.table_dialect`, :mod:`~tsae.io.table_columns`,
  :mod:`~tsae.io.table_cells`, :mod:`~tsae.io.table_time`, :mod:`~tsae.io.table_absurd`; :mod:`~tsae.io.audio_header`,
  :mod:`~tsae.io.libsndfile`; tables written by :mod:`~tsae.io.table_write`, audio by :mod:`~tsae.io.audio_write`);
- :mod:`tsae.io.records`: the stdin/MQTT record parser (the table reader's rules);
- :mod:`tsae.io.streams`: stream sources and sinks; :mod:`tsae.io.atomic`: atomic writes;
- :mod:`tsae.io.frames`: the file job of ``tsae frame``.
"""
