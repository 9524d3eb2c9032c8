"""The benchmark of the hub against PostGraphile and the floor: `python -m bench`."""
