"""Audiences: segment rules, target lists with holdouts, exports, campaign readouts, and
ad-hoc customer analyses such as a new store's catchment (`omnikpi.audiences.catchment`)."""
