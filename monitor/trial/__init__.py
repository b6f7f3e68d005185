"""The warm-night trial: a randomised test on one's own nights (docs/trial.md).

Pure logic, no SQL and no scipy (the web process imports all of it):

- :mod:`monitor.trial.design` — the protocol, drawing the schedule (``secrets``),
  the commitment, announce times, status and what may be shown when (concealment);
- :mod:`monitor.trial.stats` — the exact binomial test, the Clopper–Pearson
  interval and the exact power of the design;
- :mod:`monitor.trial.report` — per-night outcomes to the report (pairs,
  adherence, intention to treat and per protocol, the verdict, plain words);
- :mod:`monitor.trial.service` — the same joined to the store and the night
  windows: start, stop, show, report, baseline, tonight's announcement.
"""
