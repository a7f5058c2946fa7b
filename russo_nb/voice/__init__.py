"""The voice pipeline: offline audio (:mod:`.audio`: espeak-ng, pocketsphinx, effects, WAV), cloud
synthesizers (:mod:`.synthesizers`) and the audio cache (:mod:`.cache`)."""
