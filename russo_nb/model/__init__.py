"""The data model, and the base every other room stands on.

The russo types (:mod:`.types`), the extension points (:mod:`.protocols`), expectations and
evaluators, the run record (:mod:`.columns` ``Run``, :mod:`.run_fields` ``FIELDS``, :mod:`.records`, :mod:`.cells`,
:mod:`.conditions`, :mod:`.serialize`, :mod:`.lean`, :mod:`.lazy_runs`, :mod:`.partial_runs`), the
``RussoError`` family (:mod:`.errors`, :mod:`.extras`), thresholds, terminal-safe text, user regexes
and the view registry (:mod:`.rendering`). It imports no other room at module level.
"""
