"""Customer analytics: the analysts' view of customers, built from the warehouse's orders,
visits and service tables — customer profiles, lifecycle segments, RFM scores, cohorts and
customer-lifetime-value models (`omnikpi.customers.clv`); customer-level results are for
analysts and admins only and are read through the service layer's audited guard."""
