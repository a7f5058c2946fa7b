"""What a batch becomes: the view model (:mod:`.view`), DataFrames, statistics and charts (:mod:`.analysis`),
reports and exports (:mod:`.report`), the history store (:mod:`.store`) and the CLI's progress text."""
