"""Marketing measurement: spend KPIs, attribution, offline conversion matching,
experiments (A/B tests, creative split tests, holdouts) and lift studies, as pure
computations over plain values and tables; the service layer reads the warehouse."""
