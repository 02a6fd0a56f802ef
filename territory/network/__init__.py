"""Dealer networks: every dealer of a group or brand region in one batch, on Dask.

See :mod:`territory.network.inputs` (the network folder),
:mod:`territory.network.areas` (responsibility areas),
:mod:`territory.network.dealers` (each dealer's own analysis),
:mod:`territory.network.gaps` (where no dealer reaches) and
:mod:`territory.network.engine` (the Dask graph).
"""
