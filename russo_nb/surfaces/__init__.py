"""Where people meet russo_nb: the ``%russo`` magics and widgets (:mod:`.notebook`), suite files
(:mod:`.config`), the ``russo`` command (:mod:`.cli`, :mod:`.arguments`), the demo, the pytest plugin
and the fakes for tests (:mod:`.testing`)."""
